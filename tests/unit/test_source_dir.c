/* test_source_dir.c - the manifest directory: broken fixtures give one error
 * line each and lose nothing valid; file events become store changes. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../control/source_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void copy_file(const char *from, const char *dir, const char *name)
{
	char path[512], buf[65536];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;

	ck_assert_msg(in != NULL, "%s", from);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "wb");
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

START_TEST(test_broken_fixtures_one_error_line_each)
{
	FILE *ex = fopen(FIXTURES "/broken/EXPECT", "r");
	char line[512];
	int checked = 0;

	ck_assert_ptr_nonnull(ex);
	while (fgets(line, sizeof(line), ex)) {
		char *file, *object, *field, *save = NULL, dir[64], src[512], stem[128], key[200];
		struct captured_log lg;
		struct sp_store st;
		struct sp_model m;
		const char *text;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		file = trim(strtok_r(line, "|", &save));
		object = trim(strtok_r(NULL, "|", &save));
		field = trim(strtok_r(NULL, "|", &save));
		make_temp_dir(dir, sizeof(dir));
		snprintf(src, sizeof(src), FIXTURES "/broken/%s", file);
		copy_file(src, dir, file);
		captured_log_open(&lg);
		ck_assert_uint_eq(load_dir_model(dir, "node1", &st, &m, &lg.log), 1);
		text = captured_log_text(&lg);
		ck_assert_msg(captured_log_lines(&lg) == 1, "%s: %d lines:\n%s", file,
			      captured_log_lines(&lg), text);
		ck_assert_msg(strstr(text, file) != NULL, "%s: file not named: %s", file, text);
		ck_assert_msg(strstr(text, field) != NULL, "%s: field %s not named: %s", file, field, text);
		if (strcmp(object, "-")) {
			ck_assert_msg(strstr(text, object) != NULL, "%s: object %s not named: %s", file,
				      object, text);
			/* The valid object beside it is in the model. */
			snprintf(stem, sizeof(stem), "%.*s", (int)(strchr(file, '.') - file), file);
			snprintf(key, sizeof(key), "good/ok-%s:/TCP/IPv4", stem);
			ck_assert_msg(sp_hmap_get(m.ports, key) != NULL, "%s: %s lost", file, key);
		}
		captured_log_close(&lg);
		sp_model_fini(&m);
		sp_store_fini(&st);
		rm_tree(dir);
		checked++;
	}
	fclose(ex);
	ck_assert_int_ge(checked, 26);
}
END_TEST

static const char svc_a[] = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
			    "spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}\n";
static const char svc_a2[] = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
			     "spec: {clusterIP: 10.0.0.1, ports: [{port: 81}]}\n";
static const char svc_a_bad[] = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
				"spec: {clusterIP: 10.0.0.1, ports: [{port: 70000}]}\n";

static unsigned port_of_a(struct sp_store *st)
{
	const struct sp_service *s = sp_store_service(st, "default/a");

	return s ? s->ports[0].port : 0;
}

static void path_of(char *buf, size_t sz, const char *dir, const char *name)
{
	snprintf(buf, sz, "%s/%s", dir, name);
}

START_TEST(test_source_dir_add_edit_rename_delete)
{
	char dir[64], from[256], to[256];
	struct captured_log lg;
	struct sp_store st;
	struct sp_dir_source *src;

	make_temp_dir(dir, sizeof(dir));
	captured_log_open(&lg);
	ck_assert_int_eq(sp_store_init(&st, "node1"), 0);
	src = sp_dir_source_new(dir, &st, &lg.log);
	ck_assert_ptr_nonnull(src);
	ck_assert_int_eq(sp_dir_source_load_all(src), 0);

	write_file(dir, "a.yaml", svc_a);			/* add */
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 80);

	write_file(dir, ".a.yaml.swp", svc_a2);		/* editor files: ignored */
	write_file(dir, "a.yaml~", svc_a2);
	write_file(dir, "#a.yaml#", svc_a2);
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 80);

	write_file(dir, ".a.yaml.tmp", svc_a2);		/* edit by rename over */
	path_of(from, sizeof(from), dir, ".a.yaml.tmp");
	path_of(to, sizeof(to), dir, "a.yaml");
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 81);

	write_file(dir, "a.yaml", svc_a_bad);			/* bad edit: last good stays */
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 81);
	ck_assert_int_eq(captured_log_lines(&lg), 1);

	write_file(dir, "a.yaml", svc_a);			/* edit in place */
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 80);

	path_of(from, sizeof(from), dir, "a.yaml");		/* rename: still there */
	path_of(to, sizeof(to), dir, "b.yml");
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 80);

	path_of(from, sizeof(from), dir, "b.yml");		/* renamed away: gone */
	path_of(to, sizeof(to), dir, "b.yml.disabled");
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 0);

	write_file(dir, "c.json", "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},"
		   "\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":82}]}}");
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 82);
	path_of(from, sizeof(from), dir, "c.json");		/* delete */
	ck_assert_int_eq(unlink(from), 0);
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 0);

	sp_dir_source_free(src);
	sp_store_fini(&st);
	captured_log_close(&lg);
	rm_tree(dir);
}
END_TEST

START_TEST(test_source_dir_half_written_file_not_read)
{
	char dir[64], path[256];
	struct captured_log lg;
	struct sp_store st;
	struct sp_dir_source *src;
	size_t half = sizeof(svc_a2) / 2;
	int fd;

	make_temp_dir(dir, sizeof(dir));
	write_file(dir, "a.yaml", svc_a);
	captured_log_open(&lg);
	ck_assert_int_eq(sp_store_init(&st, NULL), 0);
	src = sp_dir_source_new(dir, &st, &lg.log);
	ck_assert_int_eq(sp_dir_source_load_all(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 80);

	path_of(path, sizeof(path), dir, "a.yaml");
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, svc_a2, half), (ssize_t)half);
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 80);	/* writer not done: nothing read */
	ck_assert_int_eq(write(fd, svc_a2 + half, strlen(svc_a2) - half),
			 (ssize_t)(strlen(svc_a2) - half));
	close(fd);
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 81);
	ck_assert_int_eq(captured_log_lines(&lg), 0);

	sp_dir_source_free(src);
	sp_store_fini(&st);
	captured_log_close(&lg);
	rm_tree(dir);
}
END_TEST

START_TEST(test_source_dir_unparsable_file_keeps_objects)
{
	char dir[64];
	struct captured_log lg;
	struct sp_store st;
	struct sp_dir_source *src;

	make_temp_dir(dir, sizeof(dir));
	write_file(dir, "a.yaml", svc_a);
	captured_log_open(&lg);
	ck_assert_int_eq(sp_store_init(&st, NULL), 0);
	src = sp_dir_source_new(dir, &st, &lg.log);
	ck_assert_int_eq(sp_dir_source_load_all(src), 0);
	write_file(dir, "a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a\n");
	ck_assert_int_eq(sp_dir_source_process(src), 0);
	ck_assert_uint_eq(port_of_a(&st), 80);
	ck_assert_int_eq(captured_log_lines(&lg), 1);
	sp_dir_source_free(src);
	sp_store_fini(&st);
	captured_log_close(&lg);
	rm_tree(dir);
}
END_TEST

START_TEST(test_source_dir_missing_directory)
{
	struct sp_store st;

	ck_assert_int_eq(sp_store_init(&st, NULL), 0);
	ck_assert_ptr_null(sp_dir_source_new("/nonexistent/svcplane", &st, NULL));
	sp_store_fini(&st);
}
END_TEST

/* A source on a fresh directory with the log captured: the tests below. */
struct fx {
	char dir[64];
	struct captured_log lg;
	struct sp_store st;
	struct sp_dir_source *src;
};

static void fx_open(struct fx *f)
{
	make_temp_dir(f->dir, sizeof(f->dir));
	captured_log_open(&f->lg);
	ck_assert_int_eq(sp_store_init(&f->st, NULL), 0);
	f->src = sp_dir_source_new(f->dir, &f->st, &f->lg.log);
	ck_assert_ptr_nonnull(f->src);
}

static void fx_close(struct fx *f)
{
	sp_dir_source_free(f->src);
	sp_store_fini(&f->st);
	captured_log_close(&f->lg);
	rm_tree(f->dir);
}

static void fx_path(const struct fx *f, const char *name, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/%s", f->dir, name);
}

/* A FIFO named *.yaml: refused by its type, at once (open() blocked forever). */
START_TEST(test_source_dir_fifo_refused_by_type)
{
	struct fx f;
	char path[256];

	fx_open(&f);
	fx_path(&f, "pipe.yaml", path, sizeof(path));
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	write_file(f.dir, "a.yaml", svc_a);
	ck_assert_int_eq(sp_dir_source_load_all(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 80);
	ck_assert_msg(strstr(captured_log_text(&f.lg), "pipe.yaml: not a regular file (a FIFO)"), "%s",
		      captured_log_text(&f.lg));
	fx_path(&f, "pipe2.yaml", path, sizeof(path));	/* created while watched */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&f.lg), "pipe2.yaml: not a regular file (a FIFO)"));
	fx_close(&f);
}
END_TEST

/* Two files define one Service: the one whose name sorts last is in force,
 * one warning names both, and the Service stays while either defines it. */
START_TEST(test_source_dir_object_in_two_files_stays_while_either_defines_it)
{
	struct fx f;
	char path[256];

	fx_open(&f);
	write_file(f.dir, "a.yaml", svc_a);
	write_file(f.dir, "z.yaml", svc_a2);
	ck_assert_int_eq(sp_dir_source_load_all(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 81);
	ck_assert_int_eq(captured_log_lines(&f.lg), 1);
	ck_assert_msg(strstr(captured_log_text(&f.lg), "defined in both a.yaml and z.yaml; z.yaml is used"),
		      "%s", captured_log_text(&f.lg));
	write_file(f.dir, "a.yaml", svc_a);	/* written again: z.yaml still wins, no new warning */
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 81);
	ck_assert_int_eq(captured_log_lines(&f.lg), 1);
	fx_path(&f, "z.yaml", path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 80);	/* a.yaml's version: was removed */
	write_file(f.dir, "z.yaml", svc_a2);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 81);
	fx_path(&f, "a.yaml", path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 81);
	write_file(f.dir, "z.yaml", "kind: List\nitems: []\n");	/* z stops defining it */
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 0);
	fx_close(&f);
}
END_TEST

/* Symlinks and hard links added while running, and a ConfigMap volume's
 * update (a new timestamped directory, "..data" renamed over to it). */
START_TEST(test_source_dir_links_and_configmap_swap_seen)
{
	struct fx f;
	char path[256], target[256], out[64];

	fx_open(&f);
	ck_assert_int_eq(sp_dir_source_load_all(f.src), 0);
	snprintf(out, sizeof(out), "%s.out", f.dir);	/* a file outside, linked in */
	ck_assert_int_eq(mkdir(out, 0700), 0);
	write_file(out, "svc.yaml", svc_a);
	snprintf(target, sizeof(target), "%s/svc.yaml", out);
	fx_path(&f, "link.yaml", path, sizeof(path));
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 80);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 0);
	ck_assert_int_eq(link(target, path), 0);		/* a hard link */
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 80);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 0);

	/* The kubelet's atomic writer: ..2/svc.yaml, ..data -> ..2, svc.yaml -> ..data/svc.yaml */
	fx_path(&f, "..1", path, sizeof(path));
	ck_assert_int_eq(mkdir(path, 0700), 0);
	write_file(path, "svc.yaml", svc_a);
	fx_path(&f, "..data", path, sizeof(path));
	ck_assert_int_eq(symlink("..1", path), 0);
	fx_path(&f, "svc.yaml", path, sizeof(path));
	ck_assert_int_eq(symlink("..data/svc.yaml", path), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 80);
	fx_path(&f, "..2", path, sizeof(path));
	ck_assert_int_eq(mkdir(path, 0700), 0);
	write_file(path, "svc.yaml", svc_a2);
	fx_path(&f, "..data_tmp", path, sizeof(path));
	ck_assert_int_eq(symlink("..2", path), 0);
	fx_path(&f, "..data", target, sizeof(target));
	ck_assert_int_eq(rename(path, target), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 81);
	fx_close(&f);
	rm_tree(out);
}
END_TEST

/* The directory removed and made again: watched and read again by the tick;
 * a rescan (SIGHUP) reads what no event announced. */
START_TEST(test_source_dir_recreated_directory_watched_again)
{
	struct fx f;

	fx_open(&f);
	write_file(f.dir, "a.yaml", svc_a);
	ck_assert_int_eq(sp_dir_source_load_all(f.src), 0);
	rm_tree(f.dir);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 0);	/* its files were deleted first */
	ck_assert_int_eq(sp_dir_source_tick(f.src), 0);	/* still missing: no error */
	ck_assert_int_eq(mkdir(f.dir, 0700), 0);
	write_file(f.dir, "b.yaml", svc_a2);
	ck_assert_int_eq(sp_dir_source_tick(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 81);
	write_file(f.dir, "b.yaml", svc_a);		/* and watched: events arrive */
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 80);
	ck_assert_int_eq(sp_dir_source_rescan(f.src), 0);
	ck_assert_uint_eq(port_of_a(&f.st), 80);
	fx_close(&f);
}
END_TEST

/* Names longer than the API server allows are refused, each by itself: keys
 * are never cut (two Services differing after character 319 were one). */
START_TEST(test_source_dir_long_names_refused_never_cut)
{
	struct fx f;
	char name[400], text[2048], path[256];
	const char *log;

	fx_open(&f);
	memset(name, 'n', 330);
	name[330] = '\0';
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Service\nmetadata: {name: %sx}\nspec: {ports: [{port: 80}]}\n---\n"
		 "apiVersion: v1\nkind: Service\nmetadata: {name: %sy}\nspec: {ports: [{port: 80}]}\n---\n"
		 "apiVersion: v1\nkind: Service\nmetadata: {name: %.64s}\nspec: {ports: [{port: 80}]}\n---\n"
		 "apiVersion: v1\nkind: Service\nmetadata: {name: 1a}\nspec: {ports: [{port: 80}]}\n",
		 name, name, name);
	write_file(f.dir, "long.yaml", text);
	ck_assert_int_eq(sp_dir_source_load_all(f.src), 0);
	log = captured_log_text(&f.lg);
	ck_assert_msg(!strstr(log, "defined twice"), "%s", log);
	ck_assert_int_eq(captured_log_lines(&f.lg), 4);
	ck_assert_ptr_nonnull(strstr(log, "longer than 253 characters"));
	ck_assert_ptr_nonnull(strstr(log, "longer than 63 characters"));
	ck_assert_ptr_nonnull(strstr(log, "must start with a letter"));
	ck_assert_uint_eq(sp_hmap_len(f.st.services), 0);
	fx_path(&f, "long.yaml", path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(sp_dir_source_process(f.src), 0);
	ck_assert_uint_eq(sp_hmap_len(f.st.services), 0);
	fx_close(&f);
}
END_TEST

Suite *suite_source_dir(void)
{
	Suite *s = suite_create("source_dir");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_broken_fixtures_one_error_line_each);
	tcase_add_test(tc, test_source_dir_add_edit_rename_delete);
	tcase_add_test(tc, test_source_dir_half_written_file_not_read);
	tcase_add_test(tc, test_source_dir_unparsable_file_keeps_objects);
	tcase_add_test(tc, test_source_dir_missing_directory);
	tcase_add_test(tc, test_source_dir_fifo_refused_by_type);

	tcase_add_test(tc, test_source_dir_object_in_two_files_stays_while_either_defines_it);
	tcase_add_test(tc, test_source_dir_links_and_configmap_swap_seen);
	tcase_add_test(tc, test_source_dir_recreated_directory_watched_again);
	tcase_add_test(tc, test_source_dir_long_names_refused_never_cut);
	suite_add_tcase(s, tc);
	return s;
}
