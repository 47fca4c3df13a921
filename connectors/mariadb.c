/*
 * connectors/mariadb.c
 *   SOURCE: placeholder until the driver lands.
 */
#include "connector.h"

const struct conn_ops mariadb_ops = { .driver = "mariadb" };
