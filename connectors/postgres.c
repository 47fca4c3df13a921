/*
 * connectors/postgres.c
 *   SOURCE: placeholder until the driver lands.
 */
#include "connector.h"

const struct conn_ops postgres_ops = { .driver = "postgres" };
