/* us_state.c - the state file and its lock, named by this network
 * namespace's inode. */
#include "us_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int us_state_path(char *buf, size_t sz, const char *suffix)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) == -1)
		return -errno;
	snprintf(buf, sz, "%s/net-%lu%s", US_STATE_DIR, (unsigned long)st.st_ino, suffix);
	return 0;
}

static int mkdirs(void)
{
	if (mkdir("/run/svcplane", 0755) == -1 && errno != EEXIST)
		return -errno;
	if (mkdir(US_STATE_DIR, 0755) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

int us_state_lock(int *fd)
{
	char p[256];
	int e;

	if ((e = us_state_path(p, sizeof(p), ".lock")) || (e = mkdirs()))
		return e;
	*fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd == -1)
		return -errno;
	if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		e = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(*fd);
		*fd = -1;
		return e;
	}
	return 0;
}

int us_state_write(const char *text, size_t len)
{
	char p[256], tmp[300];
	FILE *f;
	int e;

	if ((e = us_state_path(p, sizeof(p), ".json")))
		return e;
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	if (!(f = fopen(tmp, "we")))
		return -errno;
	if (fwrite(text, 1, len, f) != len) {
		e = -EIO;
		fclose(f);
		unlink(tmp);
		return e;
	}
	if (fclose(f) || rename(tmp, p) == -1) {
		e = -errno;
		unlink(tmp);
		return e;
	}
	return 0;
}

int us_state_read(char **out)
{
	char p[256], *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int e;

	if ((e = us_state_path(p, sizeof(p), ".json")))
		return e;
	if (!(f = fopen(p, "re")))
		return -errno;
	for (;;) {
		size_t n;

		if (len + 4096 + 1 > cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (!b) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	e = ferror(f) ? -EIO : 0;
	fclose(f);
	if (e) {
		free(buf);
		return e;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

int us_state_alive(void)
{
	char p[256];
	int fd, e;

	if ((e = us_state_path(p, sizeof(p), ".lock")))
		return e;
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -errno;
	e = flock(fd, LOCK_SH | LOCK_NB) == -1 ? (errno == EWOULDBLOCK ? 1 : -errno) : 0;
	close(fd); /* releases a lock we took */
	return e;
}

int us_state_remove(void)
{
	const char *sfx[] = {".json", ".json.tmp", ".sock", ".lock"};
	char p[256];
	int e;

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((e = us_state_path(p, sizeof(p), sfx[i])))
			return e;
		if (unlink(p) == -1 && errno != ENOENT)
			return -errno;
	}
	/* The directory goes with the last namespace's files. */
	if (rmdir(US_STATE_DIR) == -1 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	return 0;
}
