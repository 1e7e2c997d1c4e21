/* source_dir.h - the clusterless source: a directory of YAML/JSON manifests,
 * watched with inotify, applied to the store file by file. */
#ifndef SP_CONTROL_SOURCE_DIR_H
#define SP_CONTROL_SOURCE_DIR_H

#include <stddef.h>

struct sp_store;
struct sp_log;
struct sp_dir_source;

/* Open @dir and start watching it (no files are read yet). NULL + errno on
 * failure (ENOENT, ENOTDIR, EACCES, ...). @st and @lg are borrowed. */
struct sp_dir_source *sp_dir_source_new(const char *dir, struct sp_store *st,
					 const struct sp_log *lg);
void sp_dir_source_free(struct sp_dir_source *src);

/* The inotify descriptor to poll for readability. */
int sp_dir_source_fd(const struct sp_dir_source *src);

/* Read every manifest now in the directory. Returns 0 or -errno for a failure
 * to read the directory itself; bad files and objects are logged and skipped. */
int sp_dir_source_load_all(struct sp_dir_source *src);

/* Apply the inotify events waiting on the fd (non-blocking). Returns 0 or -errno. */
int sp_dir_source_process(struct sp_dir_source *src);

/* Watch the directory anew and read it from scratch (SIGHUP): every object
 * goes to the store again, files gone since are forgotten. Returns 0 or -errno
 * (-ENOENT while the directory is missing; it is tried again by the tick). */
int sp_dir_source_rescan(struct sp_dir_source *src);

/* Call about once a second: when the directory was removed, look for it again
 * and, once it is back, watch and read it. Returns 0 or -errno. */
int sp_dir_source_tick(struct sp_dir_source *src);

/* Errors logged since creation (tests and metrics). */
size_t sp_dir_source_errors(const struct sp_dir_source *src);

/* True for names the source reads: *.yaml, *.yml, *.json, not hidden, not an
 * editor's backup or lock file. */
int sp_dir_source_wants(const char *name);

#endif
