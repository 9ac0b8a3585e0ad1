/* podfs.h: the runner pod's folders as the shared daemon sees them.
 *
 * The GitHub runner binds its own paths into the containers it starts (/home/runner/_work,
 * /home/runner/externals, /var/run/docker.sock, any folder under them in `docker run -v`); the
 * daemon resolves those paths on *its* file system. In docker-socket and dind-daemonset the
 * runner's folders therefore live in a per-pod folder on the node,
 *
 *     <cache-root>/pods/<pod>/work        the runner's /home/runner/_work
 *     <cache-root>/pods/<pod>/externals   a copy of the runner image's externals
 *     <cache-root>/pods/<pod>/run         the guard's socket (read-only in the runner)
 *     <cache-root>/pods/<pod>/pins        bind mounts the guard made (see below)
 *     <cache-root>/pods/<pod>/.lock       held by the pod's guard while it lives
 *
 * and the guard rewrites each bind source that names them to the path the daemon resolves.
 *
 * Symlinks and races. Everything below work/ is written by the tenant (the runner, and its
 * job containers as root), so a folder named in a bind can be swapped for a symlink at any
 * time, also after the guard looked and before the daemon mounts (`docker create` and `start`
 * are separate requests). The guard therefore never hands the daemon a path that goes
 * through a folder the tenant can write: it opens the source with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) from the pod's own folder,
 * bind-mounts that open file onto pins/<n> (a mount pins the object itself, not its name),
 * checks the pin is the object it opened, and gives the daemon .../pins/<n>. Every component
 * of that path belongs to root and no tenant container has it, so what the daemon mounts is
 * decided when the guard looked, whatever happens in the work folder afterwards. The
 * roots themselves (work, externals) and run/docker.sock are named directly: their parents
 * are the guard's. The pins reach the node's mount namespace through the pods folder's
 * Bidirectional mount propagation (the guard container is privileged for that); where the
 * guard cannot mount, binds below the roots are refused, never passed through.
 *
 * Pins are removed when no container of the session uses them any more (swept before each
 * container create, every minute, and at exit), and the pod's folder when the guard stops; at
 * start the guard removes the folders of pods whose guard is gone (their .lock is free and
 * has not been touched for 10 minutes: a live guard touches it every minute). */
#ifndef DESKRUN_GUARD_PODFS_H
#define DESKRUN_GUARD_PODFS_H

#include "lib/common.h"

typedef struct gd_podroot {
	char *runner; /* the runner's path, e.g. /home/runner/_work */
	char *sub;    /* its folder in the pod's folder, e.g. work */
	int fd;       /* O_PATH of <pod>/<sub> */
} gd_podroot;

typedef struct gd_pin {
	char name[32];  /* pins/<name> */
	unsigned group; /* the create request that made it */
	long long made_ms;
	bool pending;   /* its request is not answered yet */
} gd_pin;

typedef struct gd_podfs {
	char *dir;        /* the pod's folder as the guard sees it (owned) */
	char *daemon_dir; /* ... and as the daemon does (owned) */
	char *pins_dir;   /* <dir>/pins (owned) */
	int dirfd, pinsfd, lockfd;
	gd_podroot roots[8];
	size_t nroots;
	char **sockets;   /* the runner's names of the tenant socket (owned strv) */
	bool socket_ok;   /* run/docker.sock is the socket the guard listens on */
	gd_pin *pins;
	size_t npins, cappins;
	unsigned next_group, next_pin;
	bool can_mount;   /* cleared by the first EPERM */
	long long last_sweep_ms;
} gd_podfs;

typedef enum gd_map_rc {
	GD_MAP_NONE = 0,    /* not a path of the pod's folders */
	GD_MAP_OK = 1,      /* *out is the daemon's path */
	GD_MAP_REFUSED = -1 /* *why says why (403) */
} gd_map_rc;

/* Set up the pod's folder (create work/, externals/, run/, pins/; take .lock; sweep the
 * folders of dead pods under its parent). roots: "RUNNERPATH=SUB" strings (NULL: the
 * runner's work folder and externals). listen: the guard's socket path. */
int gd_podfs_open(gd_podfs *p, const char *dir, const char *daemon_dir, char **roots,
                  const char *listen, dr_err **err);
/* Once the guard listens: is <dir>/run/docker.sock the socket at listen? Only then can the
 * runner's docker.sock binds be given the guard's socket. */
bool gd_podfs_check_socket(gd_podfs *p, const char *listen);
/* Unmount the pins; with remove, delete the pod's folder. */
void gd_podfs_close(gd_podfs *p, bool remove);

/* Map one bind source. *group: 0 allocates one for this request (pins made for it stay
 * pending until gd_podfs_settle). Pure lexical checks first: absolute, no "." or ".."
 * components, no "//". */
gd_map_rc gd_podfs_map(gd_podfs *p, const char *src, unsigned *group, char **out, char **why);
/* The request of group has been answered (ok: the container exists) or refused. A group
 * that was refused loses its pins at once. */
void gd_podfs_settle(gd_podfs *p, unsigned group, bool ok);
/* Daemon paths of pins still in use (owned strv from the daemon's container list): pins not
 * in it, not pending and older than grace_ms are unmounted and removed. */
int gd_podfs_sweep(gd_podfs *p, char *const *in_use, long long grace_ms);
/* Is this daemon path one of this pod's pins? */
bool gd_podfs_is_pin(const gd_podfs *p, const char *daemon_path);

/* Lexical check shared with the --allow-bind prefixes: an absolute path without empty, "."
 * or ".." components. */
bool gd_path_clean(const char *path);

/* The guard is alive: touch .lock (every GD_PODFS_BEAT_S). */
#define GD_PODFS_BEAT_S 60
void gd_podfs_beat(gd_podfs *p);

/* Remove the folders of pods under parent whose guard is gone (not holding <pod>/.lock, and
 * not touched for 10 minutes), except keep (a folder name). Returns how many were removed. */
int gd_podfs_sweep_dead(const char *parent, const char *keep, dr_err **err);

#endif
