#!/bin/sh
# Fuzz the HTTP/1 response parser of HTTP_GET and SSL_GET with libFuzzer for a bounded time (FUZZ_SECONDS, default
# 60). Builds in .build-fuzz; a crash lands in .build-fuzz/http-artifacts/ and belongs, with its fix, in
# Tests/HealthCheckTests/Fixtures/http-corpus/, which the unit tests replay.
set -eu
cd "$(dirname "$0")/../.."
seconds="${FUZZ_SECONDS:-60}"
scratch=.build-fuzz
corpus=Tests/HealthCheckTests/Fixtures/http-corpus
mkdir -p "$scratch/http-corpus" "$scratch/http-artifacts"
swiftc -swift-version 6 -sanitize=fuzzer,address -parse-as-library -g -O -package-name directord -module-name HTTPFuzz \
    Sources/HealthCheck/HTTP/*.swift Tests/Fuzz/HTTPFuzz/*.swift -o "$scratch/http-fuzz" 2>&1 \
    | { grep -v "Cannot export local symbol" || true; }
test -x "$scratch/http-fuzz"
echo "fuzzing the HTTP response parser for ${seconds}s"
"$scratch/http-fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/http-artifacts/" -print_final_stats=1 "$scratch/http-corpus" "$corpus"
