# ramp.gp: RSS and thread count over time in the run with the most connections, per design
# (dashed: the first failed run above it, the ramp into the wall).
# needs: ramp_*.dat
W = 1000; H = 780
load plotdir."/style.gpi"
set multiplot layout 2, 1 title "Server RSS and threads over time (100 ms samples) in the largest runs" font ",14"
unset logscale x
set format x "%g"
set xlabel "time since the server started, s" offset 0, 0.3
base(k) = strstrt(k, "-failed") ? k[1:strstrt(k, "-failed") - 1] : k
rdt(k) = strstrt(k, "-failed") ? 2 : 1
rtitle(k) = value("ramp_title_".(strstrt(k, "-") ? k[1:strstrt(k, "-") - 1]."_".k[strstrt(k, "-") + 1:] : k))
set key bottom right opaque
set ylabel "RSS, MiB"
set yrange [0:*]
plot for [k in ramp_labels] sprintf("%s/ramp_%s.dat", datadir, k) using "t_s":"rss_mib" with lines lw 2 dt rdt(k) lc rgb col(base(k)) title rtitle(k)
set ylabel "threads in the server (log scale)"
set logscale y
set yrange [0.8:*]
set format y "%.0s%c"
set key center right
plot for [k in ramp_labels] sprintf("%s/ramp_%s.dat", datadir, k) using "t_s":"threads" with lines lw 2 dt rdt(k) lc rgb col(base(k)) title rtitle(k)
unset multiplot
