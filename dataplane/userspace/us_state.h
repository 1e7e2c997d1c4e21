/* us_state.h - where a userspace-mode agent tells svcplanectl what it
 * serves: /run/svcplane/userspace/net-<inode of its network namespace>.json
 * (the model it synced last, and its listeners), replaced atomically after
 * every sync, beside a lock file the agent holds while it runs and the
 * control socket explain asks (us_ctl.h). svcplanectl
 * in the same network namespace (the same /proc/self/ns/net inode) finds it
 * with no address to know; a file whose lock nobody holds belongs to an
 * agent that is gone. */
#ifndef SP_DATAPLANE_US_STATE_H
#define SP_DATAPLANE_US_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define US_STATE_DIR "/run/svcplane/userspace"

/* The agent: create the directory, take the lock (held until @fd is
 * closed). Returns 0, -EBUSY when another agent of this namespace holds it,
 * or -errno. */
int us_state_lock(int *fd);
/* Replace the state file with @text (write a temporary file, rename). */
int us_state_write(const char *text, size_t len);
/* The state file's text (caller frees) in *@out. -ENOENT when none. */
int us_state_read(char **out);
/* Is the lock held (an agent serving)? 1, 0, or -errno. */
int us_state_alive(void);
/* This namespace's file with @suffix (".json", ".lock", ".sock") in @buf.
 * Returns 0 or -errno. */
int us_state_path(char *buf, size_t sz, const char *suffix);
/* Remove the state, lock and socket files of this namespace (absent is fine). */
int us_state_remove(void);

#endif
