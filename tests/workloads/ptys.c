/* SPDX-License-Identifier: MIT */
/*
 * ptys: pseudo-terminals made inside the container, checked across dumps.
 *
 *   A  /dev/pts/0  packet mode, custom termios and window size, slave in
 *                  exclusive mode; the controlling terminal of a child's
 *                  session whose foreground group is a grandchild's group
 *   -  /dev/pts/1  opened and closed again: a gap the restore must keep
 *   B  /dev/pts/2  locked (never unlocked), master only
 *   D  /dev/pts/3  default settings; the workload writes a line on its slave
 *                  and leaves it unread on the master across each dump
 *   E  /dev/pts/4  the same, locked again after its slave was opened
 *
 * The slaves' nodes: A's mode 0600 ("mesg n"); B's owner 1234:5678, mode
 * 0604 and times set; D's times set again after each line it queues (the
 * dump's write-back through the slave must not move them).
 *
 * The child leads the session; its child, in front, answers "ping-N" on
 * the terminal with "pong-N", then, asked with "q", writes "queued-N+1"
 * which the master leaves unread until the next round: so every dump
 * finds output queued on A (packet mode) and D.
 *
 * DIR/status: "ready" once set up, then after DIR/check-N appears the
 * round's result "round=N ok" (or "BAD <what>", sticky).
 *
 *   ptys --out DIR
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <asm/termbits.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static char dir[4096], bad[200];

#define FAIL(...) do { if (!bad[0]) snprintf(bad, sizeof(bad), "BAD " __VA_ARGS__); } while (0)

static void write_status(const char *what)
{
	char tmp[4200], path[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/status.tmp", dir);
	snprintf(path, sizeof(path), "%s/status", dir);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", bad[0] ? bad : what);
	fclose(f);
	rename(tmp, path);
}

/* A new master with its index; unlocked unless @lock. */
static int new_master(int *index, int lock)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY), unlock = 0;

	if (m < 0 || ioctl(m, TIOCGPTN, index) < 0 || (!lock && ioctl(m, TIOCSPTLCK, &unlock) < 0)) {
		perror("ptmx");
		exit(1);
	}
	return m;
}

/* The slave of master @m, opened by its path. */
static int open_slave(int index, int flags)
{
	char path[64];
	int s;

	snprintf(path, sizeof(path), "/dev/pts/%d", index);
	s = open(path, flags);
	if (s < 0) {
		perror(path);
		exit(1);
	}
	return s;
}

/* Write all of @s. */
static void put(int fd, const char *s)
{
	size_t len = strlen(s), done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, s + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(3);
		done += (size_t)n;
	}
}

/* The grandchild, in front on A: answers pings, queues a line when asked. */
static void reader_main(void)
{
	char buf[96], line[64];
	size_t len = 0;
	int round = 1;

	while (tcgetpgrp(0) != getpid())	/* its parent puts it in front */
		usleep(1000);
	snprintf(buf, sizeof(buf), "queued-%d\n", round);
	put(1, buf);
	for (;;) {
		ssize_t n = read(0, line + len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(0);
		if (line[len] != '\n' && len + 1 < sizeof(line)) {
			len++;
			continue;
		}
		line[len] = '\0';
		len = 0;
		if (!strncmp(line, "ping-", 5)) {
			snprintf(buf, sizeof(buf), "pong-%s\n", line + 5);
			put(1, buf);
		} else if (!strcmp(line, "q")) {
			snprintf(buf, sizeof(buf), "queued-%d\n", ++round);
			put(1, buf);
		}
	}
}

/* The child: session leader on A's slave, its child's group in front. */
static void child_main(int index)
{
	int s;
	pid_t g;

	setsid();
	s = open_slave(index, O_RDWR);	/* the first terminal a leader opens becomes its own */
	dup2(s, 0);
	dup2(s, 1);
	dup2(s, 2);
	if (s > 2)
		close(s);
	g = fork();
	if (g == 0) {
		setpgid(0, 0);
		reader_main();
	}
	setpgid(g, g);
	if (ioctl(0, TIOCSPGRP, &g) < 0)
		exit(4);
	for (;;)
		pause();
}

/* Read exactly @want bytes of data from master @m (packet mode: strip each read's first byte). */
static int read_exact(int m, bool packet, char *out, size_t want)
{
	size_t got = 0;
	char buf[256];

	while (got < want) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		ssize_t n;
		size_t room = want - got + (packet ? 1 : 0);

		if (poll(&p, 1, 10000) != 1)
			return -1;
		n = read(m, buf, room < sizeof(buf) ? room : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (packet) {
			if (buf[0] != 0)	/* TIOCPKT_DATA */
				return -2;
			memcpy(out + got, buf + 1, (size_t)n - 1);
			got += (size_t)n - 1;
		} else {
			memcpy(out + got, buf, (size_t)n);
			got += (size_t)n;
		}
	}
	out[got] = '\0';
	return 0;
}

/* Expect @text next on master @m, nothing before it. */
static void expect(int m, bool packet, const char *text, const char *what)
{
	char got[256];
	int r = read_exact(m, packet, got, strlen(text));

	if (r || strcmp(got, text))
		FAIL("%s: wanted %zu bytes '%.20s', read %d '%.20s'", what, strlen(text), text, r, r ? "" : got);
}

/* Nothing more to read on @m right now. */
static void expect_empty(int m, const char *what)
{
	struct pollfd p = { .fd = m, .events = POLLIN | POLLPRI };

	if (poll(&p, 1, 0) != 0)
		FAIL("%s: more output than expected (revents %#x)", what, p.revents);
}

#define B_UID 1234
#define B_GID 5678
static const struct timespec b_times[2] = { { 1111111111, 500000000 }, { 1222222222, 250000000 } };
static const struct timespec d_times[2] = { { 1333333333, 0 }, { 1444444444, 125000000 } };

/* Set the times of /dev/pts/@index. */
static void set_times(int index, const struct timespec *ts)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/pts/%d", index);
	if (utimensat(AT_FDCWD, path, ts, 0) < 0) {
		perror(path);
		exit(1);
	}
}

/* /dev/pts/@index's times are @ts; with @mode, its permissions and owner are those too. */
static void check_node(int index, const struct timespec *ts, mode_t mode, uid_t uid, gid_t gid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/pts/%d", index);
	if (stat(path, &st) < 0) {
		FAIL("stat %s: %s", path, strerror(errno));
		return;
	}
	if (mode && ((st.st_mode & 07777) != mode || st.st_uid != uid || st.st_gid != gid))
		FAIL("%s: mode %o owner %u:%u, not %o %u:%u", path, st.st_mode & 07777, st.st_uid,
		     st.st_gid, mode, uid, gid);
	if (ts && (st.st_atim.tv_sec != ts[0].tv_sec || st.st_atim.tv_nsec != ts[0].tv_nsec ||
		   st.st_mtim.tv_sec != ts[1].tv_sec || st.st_mtim.tv_nsec != ts[1].tv_nsec))
		FAIL("%s: times %lld.%09ld %lld.%09ld, not %lld.%09ld %lld.%09ld", path,
		     (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec,
		     st.st_mtim.tv_nsec, (long long)ts[0].tv_sec, ts[0].tv_nsec,
		     (long long)ts[1].tv_sec, ts[1].tv_nsec);
}

struct state {
	int a, b, d, e, a_slave, d_slave, e_slave;
	int ia, ib, id, ie;
	pid_t child, grandchild;
	gid_t a_gid;
	struct termios2 tio;
	struct winsize ws;
};

static void check_settings(struct state *s)
{
	struct termios2 tio;
	struct winsize ws;
	int v, idx;
	pid_t sid, pgrp;

	if (ioctl(s->a, TCGETS2, &tio) < 0 || tio.c_iflag != s->tio.c_iflag || tio.c_oflag != s->tio.c_oflag ||
	    tio.c_lflag != s->tio.c_lflag || tio.c_cflag != s->tio.c_cflag ||
	    memcmp(tio.c_cc, s->tio.c_cc, sizeof(tio.c_cc)))
		FAIL("termios of A: iflag %o oflag %o lflag %o", tio.c_iflag, tio.c_oflag, tio.c_lflag);
	if (ioctl(s->a_slave, TIOCGWINSZ, &ws) < 0 || memcmp(&ws, &s->ws, sizeof(ws)))
		FAIL("window size of A: %ux%u %ux%u", ws.ws_col, ws.ws_row, ws.ws_xpixel, ws.ws_ypixel);
	if (ioctl(s->a, TIOCGPTN, &idx) < 0 || idx != s->ia || ioctl(s->b, TIOCGPTN, &idx) < 0 ||
	    idx != s->ib || ioctl(s->d, TIOCGPTN, &idx) < 0 || idx != s->id)
		FAIL("indexes");
	if (ioctl(s->a, TIOCGPTLCK, &v) < 0 || v != 0 || ioctl(s->b, TIOCGPTLCK, &v) < 0 || v != 1 ||
	    ioctl(s->e, TIOCGPTLCK, &v) < 0 || v != 1 || ioctl(s->e, TIOCGPTN, &idx) < 0 || idx != s->ie)
		FAIL("lock state");
	if (ioctl(s->a, TIOCGPKT, &v) < 0 || v != 1 || ioctl(s->d, TIOCGPKT, &v) < 0 || v != 0)
		FAIL("packet mode");
	if (ioctl(s->a_slave, TIOCGEXCL, &v) < 0 || v != 1 || ioctl(s->d_slave, TIOCGEXCL, &v) < 0 || v != 0)
		FAIL("exclusive mode");
	if (ioctl(s->a, TIOCGSID, &sid) < 0 || sid != s->child)
		FAIL("session of A: %d, not %d", sid, s->child);
	if (ioctl(s->a, TIOCGPGRP, &pgrp) < 0 || pgrp != s->grandchild)
		FAIL("foreground group of A: %d, not %d", pgrp, s->grandchild);
	if (ioctl(s->d, TIOCGSID, &sid) == 0)
		FAIL("D has a session: %d", sid);
}

/* A new pty takes the gap at index 1; the locked one's slave cannot be opened. */
static void check_gap(void)
{
	int idx, m = new_master(&idx, 1);

	if (idx != 1)
		FAIL("a new pty got index %d, not the free 1", idx);
	close(m);
	/* (not E's: a failed open of a locked slave sets TTY_IO_ERROR on the slave's open files) */
	if (open("/dev/pts/2", O_RDWR | O_NOCTTY) >= 0 || errno != EIO)
		FAIL("the locked pty's slave opened (errno %d)", errno);
}

static void round_check(struct state *s, int round)
{
	char text[64];

	check_node(s->ib, b_times, 0604, B_UID, B_GID);
	check_node(s->ia, NULL, 0600, getuid(), s->a_gid);
	check_node(s->id, d_times, 0, 0, 0);
	check_settings(s);
	check_gap();
	/* queued across the dump, processed once (ONLCR: one \r) */
	snprintf(text, sizeof(text), "queued-%d\r\n", round);
	expect(s->a, true, text, "queued output of A");
	snprintf(text, sizeof(text), "dq-%d\r\n", round);
	expect(s->d, false, text, "queued output of D");
	expect_empty(s->d, "D");
	snprintf(text, sizeof(text), "eq-%d\r\n", round);
	expect(s->e, false, text, "queued output of E (locked)");
	expect_empty(s->e, "E");
	/* both ways through A */
	snprintf(text, sizeof(text), "ping-%d\n", round);
	put(s->a, text);
	snprintf(text, sizeof(text), "pong-%d\r\n", round);
	expect(s->a, true, text, "answer on A");
	/* queue for the next dump */
	put(s->a, "q\n");
	snprintf(text, sizeof(text), "queued-%d\r\n", round + 1);
	{
		struct pollfd p = { .fd = s->a, .events = POLLIN };

		if (poll(&p, 1, 10000) != 1)
			FAIL("the child did not queue its line");
	}
	snprintf(text, sizeof(text), "dq-%d\n", round + 1);
	put(s->d_slave, text);
	set_times(s->id, d_times);
	snprintf(text, sizeof(text), "eq-%d\n", round + 1);
	put(s->e_slave, text);
}

int main(int argc, char **argv)
{
	struct state s = { 0 };
	struct stat st;
	int gap, round = 1, one = 1;
	char path[4200];

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: ptys --out DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	s.a = new_master(&s.ia, 0);
	gap = new_master(&s.ib, 1);
	s.b = new_master(&s.ib, 1);
	s.d = new_master(&s.id, 0);
	s.e = new_master(&s.ie, 0);
	close(gap);
	s.a_slave = open_slave(s.ia, O_RDWR | O_NOCTTY);
	s.d_slave = open_slave(s.id, O_RDWR | O_NOCTTY);
	s.e_slave = open_slave(s.ie, O_RDWR | O_NOCTTY);
	if (ioctl(s.e, TIOCSPTLCK, &one) < 0)
		return 1;
	if (s.ia != 0 || s.ib != 2 || s.id != 3 || s.ie != 4) {
		FAIL("unexpected indexes %d %d %d %d (not a devpts of its own?)", s.ia, s.ib, s.id, s.ie);
		write_status("");
		return 1;
	}
	/* A: no echo, no canonical mode, no CR translation in; ONLCR out; VMIN 1 */
	ioctl(s.a, TCGETS2, &s.tio);
	s.tio.c_lflag &= ~(tcflag_t)(ECHO | ICANON | ISIG | IEXTEN);
	s.tio.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
	s.tio.c_oflag |= OPOST | ONLCR;
	s.tio.c_cc[VMIN] = 1;
	s.tio.c_cc[VTIME] = 0;
	s.tio.c_cc[VINTR] = 7;
	if (ioctl(s.a, TCSETS2, &s.tio) < 0)
		return 1;
	ioctl(s.a, TCGETS2, &s.tio);
	s.ws = (struct winsize){ .ws_row = 33, .ws_col = 111, .ws_xpixel = 999, .ws_ypixel = 555 };
	if (ioctl(s.a, TIOCSWINSZ, &s.ws) < 0 || ioctl(s.a, TIOCPKT, &one) < 0)
		return 1;
	s.child = fork();
	if (s.child == 0) {
		close(s.a);
		close(s.b);
		close(s.d);
		close(s.d_slave);
		close(s.a_slave);
		close(s.e);
		close(s.e_slave);
		child_main(s.ia);
	}
	/* ready: the child's first line is queued on A, the grandchild in front */
	for (int i = 0; i < 1000; i++) {
		pid_t pgrp = 0;
		struct pollfd p = { .fd = s.a, .events = POLLIN };

		if (poll(&p, 1, 10) == 1 && ioctl(s.a, TIOCGPGRP, &pgrp) == 0 && pgrp != s.child &&
		    pgrp > 0) {
			s.grandchild = pgrp;
			break;
		}
	}
	if (!s.grandchild)
		FAIL("the child did not set up its session");
	if (ioctl(s.a_slave, TIOCEXCL) < 0)
		return 1;
	put(s.d_slave, "dq-1\n");
	put(s.e_slave, "eq-1\n");
	set_times(s.id, d_times);
	set_times(s.ib, b_times);
	if (chown("/dev/pts/2", B_UID, B_GID) < 0 || chmod("/dev/pts/2", 0604) < 0 ||
	    chmod("/dev/pts/0", 0600) < 0 || fstat(s.a_slave, &st) < 0)
		return 1;
	s.a_gid = st.st_gid;
	write_status("ready");
	for (;;) {
		snprintf(path, sizeof(path), "%s/check-%d", dir, round);
		if (access(path, F_OK) == 0) {
			round_check(&s, round);
			snprintf(path, sizeof(path), "round=%d ok", round);
			write_status(path);
			round++;
		}
		usleep(20000);
	}
}
