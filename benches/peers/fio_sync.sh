#!/bin/sh
# fio's figure for 1 KiB sequential writes each made durable (write + fdatasync), into a
# fresh file (fio lays it out with fallocate: unwritten extents, as `Writer::create` does)
# and into an allocated one (`--overwrite=1`: fio writes the whole file before the job, so
# every block is written), alternated round by round, each run capped at 20 s. Prints per
# run the IOPS and the fdatasync latency percentiles.
#
#   sh benches/peers/fio_sync.sh [ROUNDS [DIR]]
#
# DIR (default target/bench-fio) must be on the disk under test, not tmpfs; it is removed.
set -eu
rounds=${1:-3}
dir=${2:-target/bench-fio}
mkdir -p "$dir"
file="$dir/s"
run() {
    rm -f "$file"
    fio --name=s --filename="$file" --rw=write --bs=1k --size=64m --fdatasync=1 --runtime=20 \
        --overwrite="$2" --output-format=json | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
iops, pct = j["write"]["iops"], j["sync"]["lat_ns"]["percentile"]
p50, p99 = pct["50.000000"] / 1e3, pct["99.000000"] / 1e3
print("%-10s %8.0f writes/s  fdatasync p50 %7.1f us  p99 %8.1f us" % (sys.argv[1], iops, p50, p99))
' "$1"
}
for r in $(seq 1 "$rounds"); do
    echo "round $r ($(cut -d' ' -f1-3 /proc/loadavg))"
    run fresh 0
    run allocated 1
done
rm -rf "$dir"
