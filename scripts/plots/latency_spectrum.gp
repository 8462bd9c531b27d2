# latency_spectrum.gp: latency percentiles from min to max at one connection count.
# needs: spectrum_*.dat
W = 1000; H = 620
load plotdir."/style.gpi"
set title sprintf("Latency percentile spectrum at %d connections, %s (closed loop)", spectrum_conns, wname(sprintf("%d", spectrum_wait)))
set logscale xy
# x = 1 / (1 - p): each "nine" of the percentile gets the same width
set xrange [0.8:6e5]
set xtics ("min" 1, "p50" 2, "p90" 10, "p99" 100, "p99.9" 1000, "p99.99" 10000, "max" 3e5)
set xlabel "percentile"
set ylabel "latency, ms (log scale)"
set format y "%g"
set key top left
if (!exists("spectrum_cont")) spectrum_cont = ""
plot for [l in spectrum_labels] sprintf("%s/spectrum_%s.dat", datadir, l) using "x":"lat_ms" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.3 title name(l), \
     for [l in spectrum_cont] sprintf("%s/spectrum_%s.dat", datadir, l) using "x":"lat_ms" with linespoints lw 1.2 lc rgb col(l) pt ptype(l) ps 0.9 title name(l)
