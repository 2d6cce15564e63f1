#!/usr/bin/env bats
# nginx, a master and two workers on 127.0.0.1, writing an access log.

setup() { load ../common; common_setup; }
teardown() {
	common_teardown
	rm -rf "${NGINX_DIR:-}"
}

@test "nginx: master and two workers serve before and after restore, lazy then a --leave-running checkpoint restored eagerly" {
	local port d
	command -v nginx >/dev/null || skip "nginx not installed (scripts/setup-deps.sh)"
	port=$(free_port)
	# the workers run as nobody: their files cannot be in the 0700 test dir
	d=$(mktemp -d /tmp/ctswap-nginx.XXXXXX)
	chmod 755 "$d"
	NGINX_DIR=$d
	mkdir "$d/www"
	echo "hello from $CT" >"$d/www/index.html"
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	master_process on;
	worker_processes 2;
	user nobody nogroup;
	pid $d/nginx.pid;
	error_log $d/error.log notice;
	events { worker_connections 64; }
	http {
		access_log $d/access.log;
		client_body_temp_path $d/body;
		proxy_temp_path $d/proxy;
		fastcgi_temp_path $d/fastcgi;
		uwsgi_temp_path $d/uwsgi;
		scgi_temp_path $d/scgi;
		server { listen 127.0.0.1:$port; root $d/www; }
	}
	EOF
	started "$CT"
	run "$CTSWAP" run "$CT" -- nginx -c "$d/nginx.conf" -e "$d/error.log"
	assert_success
	wait_until 10 curl -sf --max-time 5 "http://127.0.0.1:$port/"
	run timeout 60 "$CTSWAP" dump "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore "$CT"
	assert_success
	run curl -sf --max-time 5 "http://127.0.0.1:$port/"
	assert_success
	assert_output "hello from $CT"
	run timeout 60 "$CTSWAP" dump --leave-running "$CT"
	assert_success
	# served while left running: the access log grows past the dumped size
	run curl -sf --max-time 5 "http://127.0.0.1:$port/"
	assert_success
	run "$CTSWAP" kill "$CT"
	assert_success
	run timeout 60 "$CTSWAP" restore --eager "$CT"
	assert_success
	for i in 1 2 3 4; do
		run curl -sf --max-time 5 "http://127.0.0.1:$port/?after=$i"
		assert_success
		assert_output "hello from $CT"
	done
	# the restored workers still write their log
	run grep -c "after=" "$d/access.log"
	assert_output 4
}
