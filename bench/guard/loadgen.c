/* loadgen.c: the guard benchmark's load generator (bench/guard/run.sh builds it with cc).
 *   loadgen rt SOCK PATH REQUESTS CONNS   keep-alive GET round trips over CONNS connections
 *                                         (one thread each, all started together); prints
 *                                         "p50_us p99_us rps mean_us"
 *   loadgen conn SOCK PATH REQUESTS       one connection per GET (connect, request, answer,
 *                                         close), like the docker CLI's short connections;
 *                                         prints the same four numbers
 *   loadgen stream SOCK PATH              GET and read the whole answer; prints "bytes secs"
 *   loadgen build SOCK MIB TAG [chunked]  POST /build with a generated context holding one
 *                                         MIB MiB file, with Content-Length or (chunked) in
 *                                         32 KiB chunks the way the docker CLI sends it;
 *                                         prints "bytes secs"
 * Plain HTTP/1.1 over a unix socket, no dependencies. With 64 closed-loop clients the mean
 * latency is 64 / throughput whatever the scheduling; p50 and p99 show how evenly the
 * clients were served. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

static void
writev_all(int fd, struct iovec *iov, int n)
{
	while (n) {
		ssize_t w = writev(fd, iov, n);
		if (w <= 0) {
			perror("writev");
			exit(1);
		}
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
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
	bool per_conn;
	double *lat;
	pthread_barrier_t *start;
} job;

static void *
worker(void *arg)
{
	job *j = arg;
	char req[512];
	int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: docker\r\n\r\n", j->path);
	static __thread char buf[1 << 20];
	int fd = j->per_conn ? -1 : dial(j->sock);
	if (j->start)
		pthread_barrier_wait(j->start);
	for (int i = 0; i < j->n; i++) {
		double t0 = now();
		if (j->per_conn)
			fd = dial(j->sock);
		write_all(fd, req, (size_t)rl);
		if (read_response(fd, buf, sizeof(buf)) < 0) {
			fprintf(stderr, "bad response\n");
			exit(1);
		}
		if (j->per_conn) {
			close(fd);
			fd = -1;
		}
		j->lat[i] = now() - t0;
	}
	if (fd >= 0)
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

/* The request body, either with its length or chunked (32 KiB chunks, as the CLI does). */
typedef struct body_writer {
	int fd;
	int chunked;
	char *pend;
	size_t plen;
} body_writer;

static void
body_flush(body_writer *b)
{
	if (!b->plen)
		return;
	if (!b->chunked) {
		write_all(b->fd, b->pend, b->plen);
	} else {
		char hd[32];
		int hl = snprintf(hd, sizeof(hd), "%zx\r\n", b->plen);
		struct iovec iov[3] = { { hd, (size_t)hl }, { b->pend, b->plen }, { (void *)"\r\n", 2 } };
		writev_all(b->fd, iov, 3);
	}
	b->plen = 0;
}

static void
body_write(body_writer *b, const void *p, size_t n)
{
	size_t cap = b->chunked ? 32768 : 1 << 20;
	const char *c = p;
	while (n) {
		size_t k = cap - b->plen < n ? cap - b->plen : n;
		memcpy(b->pend + b->plen, c, k);
		b->plen += k;
		c += k;
		n -= k;
		if (b->plen == cap)
			body_flush(b);
	}
}

static int
run_rt(const char *sock, const char *path, int total, int conns, bool per_conn)
{
	int per = total / conns;
	double *lat = calloc((size_t)per * (size_t)conns, sizeof(double));
	job *jobs = calloc((size_t)conns, sizeof(job));
	pthread_t *th = calloc((size_t)conns, sizeof(pthread_t));
	/* warm-up */
	job w = { sock, path, 50 < per ? 50 : per, per_conn, lat, NULL };
	worker(&w);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)conns + 1);
	for (int i = 0; i < conns; i++) {
		jobs[i] = (job){ sock, path, per, per_conn, lat + (size_t)i * (size_t)per, &start };
		pthread_create(&th[i], NULL, worker, &jobs[i]);
	}
	pthread_barrier_wait(&start);
	double t0 = now();
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	double el = now() - t0;
	size_t n = (size_t)per * (size_t)conns;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, n, sizeof(double), cmp);
	printf("%.0f %.0f %.0f %.0f\n", lat[n / 2] * 1e6, lat[(size_t)((double)n * 0.99)] * 1e6,
	       (double)n / el, sum / (double)n * 1e6);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "rt") == 0)
		return run_rt(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), false);
	if (argc >= 5 && strcmp(argv[1], "conn") == 0)
		return run_rt(argv[2], argv[3], atoi(argv[4]), 1, true);
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
		int chunked = argc >= 6 && strcmp(argv[5], "chunked") == 0;
		unsigned long long size = strtoull(argv[3], NULL, 10) << 20;
		static const char df[] = "FROM tiny:1\nCMD [\"true\"]\n";
		unsigned long long body = 512 + 512 + 512 + size + ((512 - size % 512) % 512) + 1024;
		int fd = dial(argv[2]);
		char req[1024], len[64];
		if (chunked)
			snprintf(len, sizeof(len), "Transfer-Encoding: chunked");
		else
			snprintf(len, sizeof(len), "Content-Length: %llu", body);
		int rl = snprintf(req, sizeof(req), "POST /v1.41/build?q=1&rm=1&t=%s HTTP/1.1\r\nHost: docker\r\n"
		                  "Content-Type: application/x-tar\r\n%s\r\nConnection: close\r\n\r\n",
		                  argv[4], len);
		double t0 = now();
		write_all(fd, req, (size_t)rl);
		static char pend[1 << 20];
		body_writer bw = { fd, chunked, pend, 0 };
		char h[512], blk[512] = { 0 };
		tar_header(h, "Dockerfile", sizeof(df) - 1);
		body_write(&bw, h, 512);
		memcpy(blk, df, sizeof(df) - 1);
		body_write(&bw, blk, 512);
		tar_header(h, "big.bin", size);
		body_write(&bw, h, 512);
		static char zeros[1 << 20];
		unsigned long long left = size + ((512 - size % 512) % 512) + 1024;
		while (left) {
			size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
			body_write(&bw, zeros, k);
			left -= k;
		}
		body_flush(&bw);
		if (chunked)
			write_all(fd, "0\r\n\r\n", 5);
		static char buf[1 << 16];
		ssize_t r;
		size_t got = 0;
		while ((r = read(fd, buf + (got < 60000 ? got : 0), 4096)) > 0)
			got += (size_t)r;
		printf("%llu %.3f\n", body, now() - t0);
		return strstr(buf, " 200 ") ? 0 : 2;
	}
	fprintf(stderr, "usage: loadgen rt|conn|stream|build ...\n");
	return 2;
}
