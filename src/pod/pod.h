/* pod.h: the in-pod helpers. */
#ifndef DESKRUN_POD_H
#define DESKRUN_POD_H

int dr_pod_placeholder(void);

#endif
