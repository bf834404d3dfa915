# directorctl genhash against busybox httpd on two real servers in namespaces: the digest equals `md5sum test.html`
# (and the seed's config), agrees with keepalived's genhash for non-chunked pages, and every failure exits non-zero
# where keepalived's genhash exits 0 (its issue #766).
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/genhash
trap 'cleanup_bg || true' EXIT  # web2's server is killed on purpose, so one pid is already gone
mkdir -p "$out/web1" "$out/web2"
printf 'Just test for WEB1\n' >"$out/web1/test.html"
printf 'Just test for WEB2\n' >"$out/web2/test.html"

step "Two real servers in namespaces on a bridge, busybox httpd serving test.html"
bridge_add brg
ip addr add 10.5.1.1/24 dev brg
ns_add web1
ns_link web1 eth0 brg 10.5.1.11/24
ns_add web2
ns_link web2 eth0 brg 10.5.1.12/24
http_server web1 "$out/web1" 80
http_server web2 "$out/web2" 80
wait_until 20 "web1 answers" "$DIRECTORCTL" genhash --timeout 1 http://10.5.1.11/test.html
wait_until 20 "web2 answers" "$DIRECTORCTL" genhash --timeout 1 http://10.5.1.12/test.html

step "The digest is md5sum's, and the seed config's"
for n in 1 2; do
    "$DIRECTORCTL" genhash "http://10.5.1.1$n/test.html" | tee "$out/genhash$n"
    sum="$(md5sum <"$out/web$n/test.html" | cut -d' ' -f1)"
    expect_contains "web$n: genhash prints md5sum's digest" "$out/genhash$n" "^MD5SUM = $sum\$"
done
expect_contains "WEB1 digest as in the seed" "$out/genhash1" '^MD5SUM = 60f16b089b6c69717ffdd41fc0896652$'
expect_contains "WEB2 digest as in the seed" "$out/genhash2" '^MD5SUM = b75859919db38e0501fa02de82026078$'

step "keepalived's genhash agrees (non-chunked page)"
genhash -s 10.5.1.11 -p 80 -u /test.html | tail -n 1 >"$out/keepalived1"
note "keepalived genhash: $(cat "$out/keepalived1")"
expect_contains "same digest" "$out/keepalived1" '60f16b089b6c69717ffdd41fc0896652'

step "--verbose shows the status line and headers; --expect explains a mismatch and fails"
"$DIRECTORCTL" genhash --verbose http://10.5.1.11/test.html | tee "$out/verbose"
expect_contains "status line" "$out/verbose" '^HTTP/1\.[01] 200 OK'
expect_contains "body framing" "$out/verbose" '^body: 19 bytes'
set +e
"$DIRECTORCTL" genhash --expect b75859919db38e0501fa02de82026078 --compare "$out/web2/test.html" http://10.5.1.11/test.html \
    >"$out/expect.out" 2>"$out/expect.err"
rc=$?
set -e
cat "$out/expect.out" "$out/expect.err"
[ "$rc" -eq 1 ] || fail "--expect mismatch exited $rc, not 1"
expect_contains "expected and got" "$out/expect.err" 'digest mismatch: expected b75859919db38e0501fa02de82026078, got 60f16b089b6c69717ffdd41fc0896652'
expect_contains "first differing byte" "$out/expect.out" 'first difference at byte 17'

step "Failures exit non-zero: page renamed (404), server stopped (refused), --any-status accepts the 404"
mv "$out/web1/test.html" "$out/web1/test.html.off"
set +e
"$DIRECTORCTL" genhash http://10.5.1.11/test.html >"$out/404.out" 2>"$out/404.err"; rc404=$?
"$DIRECTORCTL" genhash --any-status http://10.5.1.11/test.html >/dev/null 2>&1; rcany=$?
set -e
cat "$out/404.out" "$out/404.err"
[ "$rc404" -eq 1 ] || fail "404 exited $rc404"
[ "$rcany" -eq 0 ] || fail "--any-status on a 404 exited $rcany"
genhash -s 10.5.1.11 -p 80 -u /test.html >/dev/null 2>&1 && note "keepalived's genhash exits 0 on the same 404 (issue #766)"
ip netns pids web2 | xargs -r kill
set +e
"$DIRECTORCTL" genhash --timeout 2 http://10.5.1.12/test.html >"$out/refused.out" 2>"$out/refused.err"; rcref=$?
set -e
cat "$out/refused.err"
[ "$rcref" -eq 1 ] || fail "refused exited $rcref"
expect_contains "the reason" "$out/refused.err" 'connection refused'
echo PASS
