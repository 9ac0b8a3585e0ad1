/* pod.c: the in-pod helpers (placeholder until they land). */
#include "lib/common.h"
#include "pod/pod.h"

int
dr_pod_placeholder(void)
{
	return 0;
}
