/*
 * bench/reader.c
 *   The physical limit tally is measured against: read one table from
 *   PostgreSQL (COPY ... TO STDOUT) and one from MariaDB (mysql_use_result)
 *   at the same time, one thread each, and discard every row. No parsing,
 *   no hashing, no comparison.
 *
 *   reader PG_CONNINFO PG_SQL MY_HOST MY_PORT MY_USER MY_DB MY_SQL
 *   (MariaDB password from MYSQL_PWD)
 *   Prints "pg_rows my_rows".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <mysql.h>

struct job {
	const char *a, *b, *c, *d, *e, *f;
	unsigned long long rows;
	int failed;
};

static void *read_pg(void *arg)
{
	struct job *j = arg;
	PGconn *pg = PQconnectdb(j->a);
	PGresult *res;
	char *row;
	int n;

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "reader: %s", PQerrorMessage(pg));
		j->failed = 1;
		return NULL;
	}
	res = PQexec(pg, j->b);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		fprintf(stderr, "reader: %s", PQerrorMessage(pg));
		j->failed = 1;
		return NULL;
	}
	PQclear(res);
	while ((n = PQgetCopyData(pg, &row, 0)) > 0) {
		j->rows++;
		PQfreemem(row);
	}
	PQclear(PQgetResult(pg));
	PQfinish(pg);
	return NULL;
}

static void *read_my(void *arg)
{
	struct job *j = arg;
	MYSQL *my = mysql_init(NULL);
	MYSQL_RES *res;
	char *end;
	unsigned long port = strtoul(j->b, &end, 10);

	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(my, j->a, j->c, getenv("MYSQL_PWD"), j->d, (unsigned)port, NULL, 0) ||
	    mysql_real_query(my, j->e, strlen(j->e)) != 0 || !(res = mysql_use_result(my))) {
		fprintf(stderr, "reader: %s\n", mysql_error(my));
		j->failed = 1;
		return NULL;
	}
	while (mysql_fetch_row(res)) {
		mysql_fetch_lengths(res);
		j->rows++;
	}
	mysql_free_result(res);
	mysql_close(my);
	return NULL;
}

int main(int argc, char **argv)
{
	struct job pg = { 0 }, my = { 0 };
	pthread_t t1, t2;

	if (argc != 8) {
		fprintf(stderr, "usage: reader PG_CONNINFO PG_SQL MY_HOST MY_PORT MY_USER MY_DB MY_SQL\n");
		return 2;
	}
	pg.a = argv[1];
	pg.b = argv[2];
	my.a = argv[3];
	my.b = argv[4];
	my.c = argv[5];
	my.d = argv[6];
	my.e = argv[7];
	pthread_create(&t1, NULL, read_pg, &pg);
	pthread_create(&t2, NULL, read_my, &my);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	printf("%llu %llu\n", pg.rows, my.rows);
	return pg.failed || my.failed ? 2 : 0;
}
