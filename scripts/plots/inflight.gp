# inflight.gp: device reads in flight (mean of the 100 ms samples of
# /sys/block/DEV/inflight of the data file's device) against connections, for file waits:
# whether a design keeps the device busy.
# needs: series_file_*.dat
W = 1000; H = 640
load plotdir."/style.gpi"
set multiplot
eval panel(1, 1)
set title "Device reads in flight during file waits (io=file, O\\_DIRECT)"
set logscale x
set logscale y
set key off
set xrange [xmin:xmax]
set ylabel "reads in flight at the device, mean (log scale)"
set format y "%g"
set yrange [0.5:*]
f(l) = sprintf("%s/series_file_%s_w%s.dat", datadir, l, inflight_wait)
plot for [l in inflight_labels] f(l) using "conns":"inflight" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.2 notitle
eval legend_panel(legend_curve(inflight_labels, 1, ""))
unset multiplot
