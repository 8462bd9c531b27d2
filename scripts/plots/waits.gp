# waits.gp: the wait kinds side by side: requests per second (top) and server CPU per
# request (bottom) against connections, one column per kind (a timer, a backend over TCP,
# a file read from the device).
# needs: kinds.dat
W = 460 * nkinds + 60; H = 900
legend_h = 0.14
load plotdir."/style.gpi"
set multiplot title "Waits on a timer, a backend and a file (closed loop)" font ",14"
set logscale xy
set key off
set xrange [xmin:xmax]
set format y "%.0s%c"
kname(io) = io eq "timer" ? "a timer" : io eq "net" ? "a backend over TCP" : io eq "file" ? "a file read (O\\_DIRECT)" : io
ks(io, l) = sprintf("%s/%s_%s_w%s.dat", datadir, value("kind_prefix_".io), l, value("kind_wait_".io))
top(i, n) = sprintf("set origin %g, %g; set size %g, %g", (i - 1.0) / n, legend_h + (0.93 - legend_h) / 2, 1.0 / n, (0.93 - legend_h) / 2)
bot(i, n) = sprintf("set origin %g, %g; set size %g, %g", (i - 1.0) / n, legend_h, 1.0 / n, (0.93 - legend_h) / 2)
i = 0
do for [io in kinds] {
    i = i + 1
    L = value("kind_labels_".io)
    w = value("kind_wait_".io)
    set title sprintf("%s, %s", kname(io), wname(w))
    set ylabel "requests per second"
    unset xlabel
    eval top(i, nkinds)
    plot for [l in L] ks(io, l) using "conns":"rps" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.1 notitle, \
         for [l in L] ks(io, l) using "conns":(column("n_sat") > 0 ? column("rps") : NaN) with points pt 6 ps 2.6 lw 2 lc rgb '#9467bd' notitle
    unset title
    set ylabel "server CPU µs per request"
    set xlabel "connections (log scale)" offset 0, 0.3
    set format y "%g"
    eval bot(i, nkinds)
    plot for [l in L] ks(io, l) using "conns":"cpu_pr" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.1 notitle
    set format y "%.0s%c"
}
eval legend_panel(legend_curve(kinds_all, 1, "").", NaN with points pt 6 ps 1.8 lw 2 lc rgb '#9467bd' title 'load generator saturated'")
unset multiplot
