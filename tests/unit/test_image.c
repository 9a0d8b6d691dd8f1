/* tests/unit/test_image.c: builder/image (skeleton, architecture, inspect metadata). */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "common/strbuf.h"

START_TEST(skeleton_order_and_content)
{
	size_t n;
	const struct image_skel_entry *e = image_skeleton(&n);
	ck_assert_uint_ge(n, 30);
	for (size_t i = 0; i < n; i++) {
		ck_assert(e[i].path[0] != '/');
		/* every parent is listed before its children */
		const char *sl = strrchr(e[i].path, '/');
		if (sl == NULL)
			continue;
		bool found = false;
		for (size_t j = 0; j < i; j++)
			found |= strlen(e[j].path) == (size_t)(sl - e[i].path) &&
				 strncmp(e[j].path, e[i].path, (size_t)(sl - e[i].path)) == 0 &&
				 e[j].type == 'd';
		ck_assert_msg(found, "%s listed before its parent", e[i].path);
		if (e[i].type == 'f' && e[i].mode == 0755)
			ck_assert_msg(strncmp(e[i].content, "#!/bin/sh\n", 10) == 0, "%s", e[i].path);
	}
	bool env90 = false, run = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].path, ".singularity.d/env/90-environment.sh") == 0)
			env90 = strstr(e[i].content, "# Custom environment shell code should follow\n") != NULL;
		if (strcmp(e[i].path, ".run") == 0)
			run = e[i].type == 'l' && strcmp(e[i].content, ".singularity.d/actions/run") == 0;
	}
	ck_assert(env90);
	ck_assert(run);
}
END_TEST

START_TEST(arch_of_host_shell)
{
	int root = open("/", O_RDONLY | O_DIRECTORY);
	const char *a = image_elf_arch(root, "/bin/sh");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a, image_host_arch());
	ck_assert_ptr_null(image_elf_arch(root, "/etc/passwd"));
	ck_assert_ptr_null(image_elf_arch(root, "/nonexistent"));
	close(root);
}
END_TEST

static void write_file(const char *dir, const char *rel, const char *content)
{
	char *p = sb_asprintf("%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
	free(p);
}

START_TEST(inspect_from_tree_and_skeleton)
{
	char tmpl[] = "/tmp/sbimageXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	char *p = sb_asprintf("%s/.singularity.d", tmpl);
	mkdir(p, 0755);
	free(p);
	write_file(tmpl, ".singularity.d/labels.json", "{\"A\": \"b\"}");
	write_file(tmpl, ".singularity.d/runscript", "#!/bin/sh\necho run\n");
	int fd = open(tmpl, O_RDONLY | O_DIRECTORY);
	sb_error_t err = NULL;
	char *s = image_inspect_json(fd, "bootstrap: localimage\n\n", &err);
	ck_assert_ptr_nonnull(s);
	json_t *j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "container");
	json_t *a = json_object_get(json_object_get(j, "data"), "attributes");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "labels"), "A")), "b");
	ck_assert_str_eq(json_string_value(json_object_get(a, "runscript")), "#!/bin/sh\necho run"); /* trimmed, as Apptainer */
	ck_assert_str_eq(json_string_value(json_object_get(a, "deffile")), "bootstrap: localimage");
	/* taken from the skeleton: */
	ck_assert_ptr_nonnull(json_object_get(a, "startscript"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(a, "environment"),
					      "/.singularity.d/env/90-environment.sh"));
	ck_assert_ptr_null(json_object_get(a, "test"));
	ck_assert_ptr_null(json_object_get(a, "apps"));
	ck_assert(strchr(s, '\n') == NULL || strstr(s, "\\n") != NULL); /* compact */
	json_decref(j);
	free(s);
	close(fd);
	char *cmd = sb_asprintf("rm -rf '%s'", tmpl);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}
END_TEST

/* The inspect metadata Apptainer (Singularity 3.8.1) stored in a real image
 * equals what we compute from the same image's tree and definition. */
START_TEST(inspect_matches_real_image)
{
	const char *img = SB_TOP_SRCDIR "/../shared/conformance/sif/images/apptainer-busybox_amd64.sif";
	if (access(img, R_OK) != 0 || system("command -v unsquashfs >/dev/null") != 0) {
		printf("SKIP inspect_matches_real_image: %s or unsquashfs missing\n", img);
		return;
	}
	char tmpl[] = "/tmp/sbinspXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	char *cmd = sb_asprintf("cd '%s' && '%s/sifbuild' sif dump 4 '%s' > p.sqfs && "
				"'%s/sifbuild' sif dump 1 '%s' > def && "
				"'%s/sifbuild' sif dump 2 '%s' > inspect.json && "
				"unsquashfs -q -no-xattrs -d root p.sqfs >/dev/null",
				tmpl, SB_TOP_BUILDDIR, img, SB_TOP_BUILDDIR, img, SB_TOP_BUILDDIR, img);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	char *p = sb_asprintf("%s/def", tmpl);
	char *def = sb_read_file(p, NULL);
	free(p);
	p = sb_asprintf("%s/root", tmpl);
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	free(p);
	sb_error_t err = NULL;
	char *ours = image_inspect_json(fd, def, &err);
	ck_assert_ptr_nonnull(ours);
	p = sb_asprintf("%s/inspect.json", tmpl);
	json_t *want = json_load_file(p, 0, NULL);
	free(p);
	json_t *got = json_loads(ours, 0, NULL);
	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(json_equal(want, got), "ours: %s", ours);
	json_decref(want);
	json_decref(got);
	free(ours);
	free(def);
	close(fd);
	cmd = sb_asprintf("rm -rf '%s'", tmpl);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}
END_TEST

START_TEST(labels_json_go_format)
{
	struct image_label l[] = { { "b", "x<y>&z" }, { "a", "tab\there \"q\"" }, { "c", "\xe2\x80\xa8" } };
	char *s = image_labels_json(l, 3);
	ck_assert_str_eq(s, "{\n\t\"a\": \"tab\\there \\\"q\\\"\",\n"
			    "\t\"b\": \"x\\u003cy\\u003e\\u0026z\",\n\t\"c\": \"\\u2028\"\n}");
	free(s);
	s = image_labels_json(NULL, 0);
	ck_assert_str_eq(s, "{}");
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("image");
	tcase_add_test(tc, skeleton_order_and_content);
	tcase_add_test(tc, arch_of_host_shell);
	tcase_add_test(tc, inspect_from_tree_and_skeleton);
	tcase_add_test(tc, inspect_matches_real_image);
	tcase_add_test(tc, labels_json_go_format);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	printf("\n");
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
