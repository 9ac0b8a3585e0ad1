/* tests/cluster/pause.c: the sandbox ("pause") container's program for the real-cluster tier.
 * It holds the pod's namespaces: sleeps until SIGINT or SIGTERM, reaping any child it inherits. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) { (void)sig; _exit(0); }

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction stop = {.sa_handler = on_stop}, child = {.sa_handler = on_child};
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigaction(SIGCHLD, &child, NULL);
	for (;;)
		pause();
}
