# hol.gp: head-of-line blocking (C6): light requests' latency alone and next to heavy ones.
# needs: hol.dat
W = 1000; H = 620
load plotdir."/style.gpi"
set title "Light requests' latency, alone and with CPU-heavy neighbours\n{/*0.85 ".hol_desc." (open loop, ".server_cpus_text.")}"
set style data histograms
set style histogram clustered gap 1.2
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set logscale y
set ylabel "latency, ms (log scale)"
set format y "%g"
set xlabel ""
set grid noxtics
set key top left
plot datadir."/hol.dat" using "alone_p50_ms":xtic(1) title "p50 alone" lc rgb "#c6dbef", \
     "" using "alone_p90_ms" title "p90 alone" lc rgb "#6baed6", \
     "" using "alone_p99_ms" title "p99 alone" lc rgb "#2171b5", \
     "" using "with_p50_ms" title "p50 with heavy neighbours" lc rgb "#fcbba1", \
     "" using "with_p90_ms" title "p90 with heavy neighbours" lc rgb "#fb6a4a", \
     "" using "with_p99_ms" title "p99 with heavy neighbours" lc rgb "#a50f15"
