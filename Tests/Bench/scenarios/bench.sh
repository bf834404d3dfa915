# Parts of `make bench` in one lab VM. BENCH_ARGS (passed with --env) holds the arguments of
# Tests/Bench/guest/bench.py, several parts separated by ';', e.g. "program --sizes 50x4 --runs 1; reload --size 50x4".
set -euo pipefail
IFS=';' read -ra parts <<<"${BENCH_ARGS:?set BENCH_ARGS, e.g. program --sizes 50x4 --runs 1}"
for part in "${parts[@]}"; do
    # shellcheck disable=SC2086
    python3 -u "$LAB_REPO/Tests/Bench/guest/bench.py" $part
done
