#!/usr/bin/env bash
# Re-plots and re-reports a results folder from the raw data already in it:
# summary.csv, hol.csv, plots/*.png and *.svg (one gnuplot script each, scripts/plots/*.gp),
# then REPORT.md with its verdicts. Runs nothing else; safe to repeat.
#   scripts/plots.sh DIR          (make plots = scripts/plots.sh results/latest)
# Exit: 0 done (a plot whose data is missing is left out and named), 1 failure, 2 usage.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

case "${1:-}" in
-h | --help)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
"")
    echo "plots.sh: which results folder? e.g. scripts/plots.sh results/latest" >&2
    exit 2
    ;;
esac
dir=${1%/}
if [ ! -d "$dir/raw" ]; then
    echo "plots.sh: $dir/raw not found: run scripts/bench.sh (make bench) first" >&2
    exit 1
fi
case "$dir" in *"'"* | *'"'*)
    echo "plots.sh: quotes in the folder name ('$dir') are not supported" >&2
    exit 2
    ;;
esac
for tool in gnuplot python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "plots.sh: $tool not found; install it with scripts/deps.sh" >&2
        exit 1
    fi
done

python3 "$here/report.py" data "$dir"

data="$dir/plots/data"
drawn=() skipped=() failed=()
for gp in "$here"/plots/*.gp; do
    name=$(basename "$gp" .gp)
    # A script names the data files it needs ("# needs: GLOB..."); without them, no plot.
    have=1
    for pat in $(sed -n 's/^# needs: //p' "$gp"); do
        compgen -G "$data/$pat" >/dev/null || have=0
    done
    if [ "$have" -eq 0 ]; then
        rm -f "$dir/plots/$name.png" "$dir/plots/$name.svg"
        skipped+=("$name")
        continue
    fi
    ok=1
    for fmt in png svg; do
        tmp="$dir/plots/.tmp.$name"
        log="$data/$name.$fmt.log"
        # gnuplot writes tmp.FMT; renamed only when complete, so a reader never sees half a plot
        if gnuplot -e "plotdir='$here/plots'; datadir='$data'; out='$tmp'; fmt='$fmt'; load '$data/meta.gp'" \
            "$gp" >"$log" 2>&1 && [ -s "$tmp.$fmt" ]; then
            mv -f "$tmp.$fmt" "$dir/plots/$name.$fmt"
        else
            ok=0
            rm -f "$tmp.$fmt" "$dir/plots/$name.$fmt"
            echo "plots.sh: gnuplot failed on $name.$fmt:" >&2
            # gnuplot echoes the whole failing command; its last line says what went wrong
            grep -v -e '^Warning' -e '^ *$' -e '^ *\^ *$' "$log" | tail -1 | cut -c1-300 |
                sed 's/^/    /' >&2 || true
        fi
    done
    if [ "$ok" -eq 1 ]; then drawn+=("$name"); else failed+=("$name"); fi
done

python3 "$here/report.py" report "$dir"
echo "plots: ${#drawn[@]} drawn in $dir/plots (PNG + SVG)${skipped:+; no data for: ${skipped[*]}}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "plots.sh: could not draw: ${failed[*]} (logs in $data/)" >&2
    exit 1
fi
echo "report: $dir/REPORT.md"
