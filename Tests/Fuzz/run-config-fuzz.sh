#!/bin/sh
# Fuzz the configuration parser and validator with libFuzzer for a bounded time.
#   FUZZ_SECONDS  how long to run (default 60)
#   FUZZ_JOBS     parallel jobs (default 1)
# Builds in its own scratch folder (.build-fuzz), never in the shared .build. New interesting inputs stay in
# .build-fuzz/config-corpus; a crash is written to .build-fuzz/config-artifacts/ and must be copied into
# Tests/DirectorConfigTests/Fixtures/fuzz-corpus/ with the fix, so the unit tests replay it from then on.
set -eu
cd "$(dirname "$0")/../.."
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-1}"
scratch=.build-fuzz
corpus=Tests/DirectorConfigTests/Fixtures/fuzz-corpus
mkdir -p "$scratch/config-corpus" "$scratch/config-artifacts"

# SwiftPM's executable entry point gets in libFuzzer's way; compiling the library sources and the entry
# file as one module with swiftc does not.
# (gold warns once per ASan helper symbol; those lines are noise.) -I finds the PCRE2 module map (url regex).
# The address module the parser imports is built first, instrumented the same way.
Tests/Fuzz/build-addresses.sh "$scratch"
swiftc -swift-version 6 -sanitize=fuzzer,address -parse-as-library -g -O -package-name directord \
    -module-name ConfigFuzz -I Sources/CPCRE2 -I "$scratch/modules" -L "$scratch/modules" -lAddresses \
    Sources/DirectorConfig/*.swift Tests/Fuzz/ConfigFuzz/*.swift \
    -o "$scratch/config-fuzz" 2>&1 | { grep -v "Cannot export local symbol" || true; }
test -x "$scratch/config-fuzz"

# A dictionary of every quoted word in the keyword tables helps the fuzzer reach deep into blocks.
dict="$scratch/config.dict"
grep -oh '"[A-Za-z0-9_.-]*"' Sources/DirectorConfig/*Keywords.swift Sources/DirectorConfig/DirectorConfig.swift \
    | sort -u | grep -v '^""$' > "$dict"
printf '"{"\n"}"\n"\\x0A"\n"#"\n"!"\n"\\""\n"include "\n' >> "$dict"

parallel=""
if [ "$jobs" -gt 1 ]; then
    # libFuzzer writes one fuzz-N.log per job into the current directory: keep them in the scratch folder.
    cd "$scratch" && scratch=. && corpus="../$corpus" && dict="config.dict"
    parallel="-jobs=$jobs -workers=$jobs"
fi
echo "fuzzing the configuration parser for ${seconds}s (${jobs} job(s))"
# shellcheck disable=SC2086
"$scratch/config-fuzz" -max_total_time="$seconds" $parallel -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -dict="$dict" -artifact_prefix="$scratch/config-artifacts/" -print_final_stats=1 \
    "$scratch/config-corpus" "$corpus"
