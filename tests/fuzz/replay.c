/*
 * tests/fuzz/replay.c
 *   A main() for a fuzz target without libFuzzer, so that its inputs run
 *   in the normal test suite under any compiler: runs the target once on
 *   every file of the directories given, in name order, and prints one
 *   TAP case per file. The first directory is the target's corpus and
 *   must hold at least one file; the others (inputs that once crashed,
 *   kept as regression tests) may be missing or empty. Files whose name
 *   starts with '.' are skipped.
 *
 *   replay_<target> CORPUS_DIR [REGRESS_DIR...]
 *
 * A broken property aborts the process (see fuzz.h), which the harness
 * counts as a failure; the line "# input PATH" just before it names the
 * input. Each input is read into a buffer of exactly its size, so that a
 * sanitizer sees a read past its end.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int not_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* The whole file, in a buffer of exactly its size (1 byte when empty). */
static uint8_t *read_all(const char *path, size_t *size)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data = NULL;
	long n = -1;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0)
		n = ftell(fp);
	if (n >= 0 && fseek(fp, 0, SEEK_SET) == 0)
		data = malloc(n > 0 ? (size_t)n : 1);
	if (data && fread(data, 1, (size_t)n, fp) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(fp);
	*size = data ? (size_t)n : 0;
	return data;
}

/* Runs every file of dir; returns the number run, or -1 when dir is unreadable. */
static int run_dir(const char *dir, int *ncase, int *failed)
{
	struct dirent **names;
	int n = scandir(dir, &names, not_hidden, alphasort);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char path[4096];
		uint8_t *data;
		size_t size = 0;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		free(names[i]);
		data = read_all(path, &size);
		++*ncase;
		if (!data) {
			printf("not ok %d - %s: %s\n", *ncase, path, strerror(errno));
			++*failed;
			continue;
		}
		printf("# input %s\n", path);
		fflush(stdout);
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		printf("ok %d - %s\n", *ncase, path);
	}
	free(names);
	return n;
}

int main(int argc, char **argv)
{
	int ncase = 0, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR [REGRESS_DIR...]\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int n = run_dir(argv[i], &ncase, &failed);

		if (i == 1 && n <= 0) {
			printf("not ok %d - corpus %s is %s\n", ++ncase, argv[i],
			       n < 0 ? "unreadable" : "empty");
			failed++;
		}
	}
	printf("1..%d\n", ncase);
	return failed ? 1 : 0;
}
