/* loadgen.c: the guard benchmark's load generator (bench/guard/run.sh builds it with cc).
 *   loadgen rt SOCK PATH REQUESTS CONNS   keep-alive GET round trips over CONNS connections
 *                                         (one thread each); prints "p50_us p99_us rps"
 *   loadgen stream SOCK PATH              GET and read the whole answer; prints "bytes secs"
 *   loadgen build SOCK MIB TAG            POST /build with a generated context holding one
 *                                         MIB MiB file; prints "bytes secs"
 * Plain HTTP/1.1 over a unix socket, no dependencies. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static void
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w <= 0) {
			perror("write");
			exit(1);
		}
		c += w;
		n -= (size_t)w;
	}
}

/* Read one response with Content-Length or chunked framing; returns 0 on success. */
static int
read_response(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	size_t hl = (size_t)(end + 4 - buf);
	char *cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl && cl < end) {
		size_t want = hl + strtoul(cl + 17, NULL, 10);
		while (len < want) {
			ssize_t r = read(fd, buf + len, want - len < cap - len ? want - len : cap - len);
			if (r <= 0)
				return -1;
			len += (size_t)r;
		}
		return 0;
	}
	while (!(len >= 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0)) {
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			return -1;
		len += (size_t)r;
	}
	return 0;
}

typedef struct job {
	const char *sock, *path;
	int n;
	double *lat;
} job;

static void *
worker(void *arg)
{
	job *j = arg;
	int fd = dial(j->sock);
	char req[512];
	int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: docker\r\n\r\n", j->path);
	static __thread char buf[1 << 20];
	for (int i = 0; i < j->n; i++) {
		double t0 = now();
		write_all(fd, req, (size_t)rl);
		if (read_response(fd, buf, sizeof(buf)) < 0) {
			fprintf(stderr, "bad response\n");
			exit(1);
		}
		j->lat[i] = now() - t0;
	}
	close(fd);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
tar_header(char *h, const char *name, unsigned long long size)
{
	memset(h, 0, 512);
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011llo", size);
	snprintf(h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar\00000", 8);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "rt") == 0) {
		int total = atoi(argv[4]), conns = atoi(argv[5]);
		int per = total / conns;
		double *lat = calloc((size_t)per * (size_t)conns, sizeof(double));
		job *jobs = calloc((size_t)conns, sizeof(job));
		pthread_t *th = calloc((size_t)conns, sizeof(pthread_t));
		/* warm-up */
		job w = { argv[2], argv[3], 50 < per ? 50 : per, lat };
		worker(&w);
		double t0 = now();
		for (int i = 0; i < conns; i++) {
			jobs[i] = (job){ argv[2], argv[3], per, lat + (size_t)i * (size_t)per };
			pthread_create(&th[i], NULL, worker, &jobs[i]);
		}
		for (int i = 0; i < conns; i++)
			pthread_join(th[i], NULL);
		double el = now() - t0;
		size_t n = (size_t)per * (size_t)conns;
		qsort(lat, n, sizeof(double), cmp);
		printf("%.0f %.0f %.0f\n", lat[n / 2] * 1e6, lat[(size_t)(n * 0.99)] * 1e6, (double)n / el);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "stream") == 0) {
		int fd = dial(argv[2]);
		char req[1024];
		int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n", argv[3]);
		double t0 = now();
		write_all(fd, req, (size_t)rl);
		static char buf[1 << 20];
		unsigned long long total = 0;
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			total += (unsigned long long)r;
		printf("%llu %.3f\n", total, now() - t0);
		return 0;
	}
	if (argc >= 5 && strcmp(argv[1], "build") == 0) {
		unsigned long long size = strtoull(argv[3], NULL, 10) << 20;
		static const char df[] = "FROM tiny:1\nCMD [\"true\"]\n";
		unsigned long long body = 512 + 512 + 512 + size + ((512 - size % 512) % 512) + 1024;
		int fd = dial(argv[2]);
		char req[1024];
		int rl = snprintf(req, sizeof(req), "POST /v1.41/build?q=1&rm=1&t=%s HTTP/1.1\r\nHost: docker\r\n"
		                  "Content-Type: application/x-tar\r\nContent-Length: %llu\r\nConnection: close\r\n\r\n",
		                  argv[4], body);
		double t0 = now();
		write_all(fd, req, (size_t)rl);
		char h[512], blk[512] = { 0 };
		tar_header(h, "Dockerfile", sizeof(df) - 1);
		write_all(fd, h, 512);
		memcpy(blk, df, sizeof(df) - 1);
		write_all(fd, blk, 512);
		tar_header(h, "big.bin", size);
		write_all(fd, h, 512);
		static char zeros[1 << 20];
		unsigned long long left = size + ((512 - size % 512) % 512) + 1024;
		while (left) {
			size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
			write_all(fd, zeros, k);
			left -= k;
		}
		static char buf[1 << 16];
		ssize_t r;
		size_t got = 0;
		while ((r = read(fd, buf + (got < 60000 ? got : 0), 4096)) > 0)
			got += (size_t)r;
		printf("%llu %.3f\n", body, now() - t0);
		return strstr(buf, " 200 ") ? 0 : 2;
	}
	fprintf(stderr, "usage: loadgen rt|stream|build ...\n");
	return 2;
}
