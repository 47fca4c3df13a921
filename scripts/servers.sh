#!/usr/bin/env bash
# scripts/servers.sh
#   Throwaway PostgreSQL and MariaDB servers for the demo, the tests and the
#   benchmarks: each lives in a directory of its own, listens on 127.0.0.1
#   and on a free port only, and is stopped by its pid file, never by name.
#
#   scripts/servers.sh start DIR   start both servers under DIR (created if
#                                  missing); writes DIR/env (mode 0600)
#   scripts/servers.sh stop DIR    stop exactly the servers started under DIR
#   scripts/servers.sh status DIR  exit 0 when both answer
#   scripts/servers.sh run CMD...  start both in a new temporary directory,
#                                  run CMD with DIR/env exported, stop them,
#                                  and exit with CMD's status
#
#   DIR/env is a shell fragment (source it) with:
#     TALLY_PG_HOST TALLY_PG_PORT TALLY_PG_SOCKDIR TALLY_PG_BINDIR
#     TALLY_PG_ADMIN_USER TALLY_PG_ADMIN_PASSWORD   superuser, for seeding
#     TALLY_PG_USER TALLY_PG_PASSWORD               read-only role tally uses
#     TALLY_MY_HOST TALLY_MY_PORT TALLY_MY_SOCKET
#     TALLY_MY_ADMIN_USER TALLY_MY_ADMIN_PASSWORD   all privileges, for seeding
#     TALLY_MY_USER TALLY_MY_PASSWORD               SELECT-only user tally uses
#   Passwords are random for each start.
#
#   PostgreSQL refuses to run as root: as root, its commands run as the
#   `postgres` OS user and MariaDB's as `mysql`, via runuser.
set -euo pipefail

die() { echo "servers.sh: $*" >&2; exit 2; }

usage() {
	sed -n '3,24p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

pg_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/initdb" ] || die "PostgreSQL server binaries not found (run scripts/deps.sh)"
	echo "$d"
}

# Runs a command as an OS user when we are root, as ourselves otherwise.
as_user() {
	local user=$1; shift
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p tries=0
	while [ $tries -lt 200 ]; do
		# Below the kernel's ephemeral range (32768 and up), where client
		# sockets of a busy test run could take the port first.
		p=$(( 12000 + (RANDOM * 32768 + RANDOM) % 20000 ))
		if ! port_in_use "$p" && ! grep -qs ":$p\$" "$PORTS_TAKEN"; then
			echo ":$p" >> "$PORTS_TAKEN"
			echo "$p"
			return 0
		fi
		tries=$((tries + 1))
	done
	die "no free port found on 127.0.0.1"
}

random_password() {
	head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

wait_for() {
	local what=$1 secs=$2; shift 2
	local i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le $((secs * 10)) ] || return 1
		sleep 0.1
	done
	return 0
	# shellcheck disable=SC2317
	echo "$what"
}

start_pg() {
	local dir=$1 bindir port pw_admin pw_user
	bindir=$(pg_bindir)
	port=$(free_port)
	pw_admin=$(random_password)
	pw_user=$(random_password)
	mkdir -p "$dir/pg/sock"
	printf '%s\n' "$pw_admin" > "$dir/pg/pwfile"
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres: "$dir/pg"
	fi
	chmod 0700 "$dir/pg"
	as_user postgres "$bindir/initdb" -D "$dir/pg/data" -U postgres \
		--pwfile="$dir/pg/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
		-E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 \
		|| { cat "$dir/pg/initdb.log" >&2; die "initdb failed"; }
	rm -f "$dir/pg/pwfile"
	cat >> "$dir/pg/data/postgresql.conf" <<-EOF
	listen_addresses = '127.0.0.1'
	port = $port
	unix_socket_directories = '$dir/pg/sock'
	max_connections = 100
	shared_buffers = 256MB
	fsync = off
	synchronous_commit = off
	full_page_writes = off
	log_min_messages = warning
	EOF
	as_user postgres "$bindir/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" \
		-w -t 60 start >/dev/null \
		|| { tail -n 20 "$dir/pg/server.log" >&2; die "PostgreSQL did not start"; }
	as_user postgres "$bindir/psql" -X -q -h "$dir/pg/sock" -p "$port" -U postgres \
		-d postgres -v ON_ERROR_STOP=1 >/dev/null <<-EOF
	CREATE ROLE tally LOGIN PASSWORD '$pw_user';
	GRANT pg_read_all_data TO tally;
	-- lets --max-load see other roles' active queries
	GRANT pg_read_all_stats TO tally;
	EOF
	{
		echo "TALLY_PG_HOST=127.0.0.1"
		echo "TALLY_PG_PORT=$port"
		echo "TALLY_PG_SOCKDIR=$dir/pg/sock"
		echo "TALLY_PG_BINDIR=$bindir"
		echo "TALLY_PG_ADMIN_USER=postgres"
		echo "TALLY_PG_ADMIN_PASSWORD=$pw_admin"
		echo "TALLY_PG_USER=tally"
		echo "TALLY_PG_PASSWORD=$pw_user"
	} >> "$dir/env"
}

start_my() {
	local dir=$1 port pw_admin pw_user user_opt=()
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] \
		|| die "MariaDB server not found (run scripts/deps.sh)"
	port=$(free_port)
	pw_admin=$(random_password)
	pw_user=$(random_password)
	# Its own tmpdir: a shared /tmp that something else cleans must not
	# take the server's temporary tables and files with it.
	mkdir -p "$dir/my/tmp"
	if [ "$(id -u)" = 0 ]; then
		chown -R mysql: "$dir/my"
		user_opt=(--user=mysql)
	fi
	chmod 0700 "$dir/my"
	as_user mysql mariadb-install-db --no-defaults --datadir="$dir/my/data" \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$dir/my/install.log" 2>&1 \
		|| { cat "$dir/my/install.log" >&2; die "mariadb-install-db failed"; }
	# mariadbd daemonizes only through mysqld_safe; run it in the background
	# ourselves, detached from this shell's stdio.
	setsid /usr/sbin/mariadbd --no-defaults "${user_opt[@]}" \
		--datadir="$dir/my/data" --socket="$dir/my/mysqld.sock" \
		--pid-file="$dir/my/mariadbd.pid" --log-error="$dir/my/server.log" \
		--tmpdir="$dir/my/tmp" \
		--port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
		--skip-log-bin --character-set-server=utf8mb4 \
		--innodb-buffer-pool-size=512M --innodb-flush-log-at-trx-commit=2 \
		--innodb-doublewrite=0 --max-connections=200 \
		</dev/null >/dev/null 2>&1 &
	if ! wait_for "MariaDB" 60 mariadb --no-defaults -S "$dir/my/mysqld.sock" -u root -e 'SELECT 1'; then
		tail -n 20 "$dir/my/server.log" >&2
		die "MariaDB did not start"
	fi
	mariadb --no-defaults -S "$dir/my/mysqld.sock" -u root <<-EOF
	CREATE USER 'tally_admin'@'127.0.0.1' IDENTIFIED BY '$pw_admin';
	GRANT ALL PRIVILEGES ON *.* TO 'tally_admin'@'127.0.0.1' WITH GRANT OPTION;
	CREATE USER 'tally'@'127.0.0.1' IDENTIFIED BY '$pw_user';
	GRANT SELECT, SHOW VIEW, PROCESS, REPLICATION CLIENT ON *.* TO 'tally'@'127.0.0.1';
	ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw_admin';
	EOF
	{
		echo "TALLY_MY_HOST=127.0.0.1"
		echo "TALLY_MY_PORT=$port"
		echo "TALLY_MY_SOCKET=$dir/my/mysqld.sock"
		echo "TALLY_MY_ADMIN_USER=tally_admin"
		echo "TALLY_MY_ADMIN_PASSWORD=$pw_admin"
		echo "TALLY_MY_USER=tally"
		echo "TALLY_MY_PASSWORD=$pw_user"
	} >> "$dir/env"
}

stop_pg() {
	local dir=$1 pid
	[ -f "$dir/pg/data/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$dir/pg/data/postmaster.pid")
	as_user postgres "$(pg_bindir)/pg_ctl" -D "$dir/pg/data" -m fast -w -t 60 stop >/dev/null 2>&1 \
		|| { kill -KILL "$pid" 2>/dev/null || true; }
}

stop_my() {
	local dir=$1 pid i=0
	[ -f "$dir/my/mariadbd.pid" ] || return 0
	pid=$(cat "$dir/my/mariadbd.pid")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ]; then
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
	rm -f "$dir/my/mariadbd.pid"
}

status() {
	local dir=$1
	[ -f "$dir/env" ] || return 1
	# shellcheck disable=SC1091
	. "$dir/env"
	PGPASSWORD=$TALLY_PG_PASSWORD "$TALLY_PG_BINDIR/psql" -X -q -h 127.0.0.1 \
		-p "$TALLY_PG_PORT" -U "$TALLY_PG_USER" -d postgres -c 'SELECT 1' >/dev/null 2>&1 \
		|| return 1
	MYSQL_PWD=$TALLY_MY_PASSWORD mariadb --no-defaults -h 127.0.0.1 -P "$TALLY_MY_PORT" \
		-u "$TALLY_MY_USER" -e 'SELECT 1' >/dev/null 2>&1
}

if [ "${1:-}" = run ] && [ $# -ge 2 ]; then
	shift
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tally-servers.XXXXXX")
	trap '"$0" stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
	"$0" start "$dir"
	set -a
	# shellcheck disable=SC1091
	. "$dir/env"
	set +a
	status=0
	"$@" || status=$?
	exit $status
fi

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

case $cmd in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ ! -e "$dir/env" ] || die "$dir already holds servers (stop them first)"
	# The server users must be able to reach their subdirectories.
	chmod 0711 "$dir"
	PORTS_TAKEN="$dir/.ports"
	: > "$PORTS_TAKEN"
	umask 077
	: > "$dir/env"
	trap 'stop_my "$dir"; stop_pg "$dir"; rm -f "$dir/env"' ERR
	start_pg "$dir"
	start_my "$dir"
	trap - ERR
	echo "servers.sh: PostgreSQL on 127.0.0.1:$(grep TALLY_PG_PORT "$dir/env" | cut -d= -f2)," \
		"MariaDB on 127.0.0.1:$(grep TALLY_MY_PORT "$dir/env" | cut -d= -f2); env in $dir/env" >&2
	;;
stop)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	stop_my "$dir"
	stop_pg "$dir"
	rm -f "$dir/env"
	;;
status)
	status "$dir"
	;;
*)
	usage
	;;
esac
