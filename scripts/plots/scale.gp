# scale.gp: the scale runs (several processes per design, closed loop with a think time):
# memory and requests/s against connections, and where the thread server met its wall.
# needs: scale_*.dat
W = 1100; H = 660
load plotdir."/style.gpi"
set multiplot title "Scale runs: ".scale_desc font ",13"
set logscale xy
set key off
set xrange [scale_xmin:scale_xmax]
set format y "%g"
sfile(l) = sprintf("%s/scale_%s.dat", datadir, l)
sname(l) = (l eq "async" ? "async (libev)" : l eq "thread" ? "thread (pthreads)" : l)." × ".value("scale_workers_".l)
eval "set xtics (".scale_xtics.")"
if (exists("wall_x")) {
    set arrow 1 from first wall_x, graph 0 to first wall_x, graph 1 nohead dt 3 lw 1.5 lc rgb "#555555"
    set label 1 wall_text at first wall_x, graph 0.96 left offset 0.6, 0 tc rgb "#333333"
}

set title "Memory\n{/*0.85 solid: server RSS; dashed: kernel memory, system-wide}"
eval panel(1, 2)
set ylabel "MiB (log scale)"
plot for [l in scale_labels] sfile(l) using "conns":"rss_mib" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.2 notitle, \
     for [l in scale_labels] sfile(l) using "conns":"kern_mib" with linespoints lw 2 dt 2 lc rgb col(l) pt ptype(l) ps 1.0 notitle, \
     for [l in scale_labels] sfile(l) using "conns":"fail_rss" with points pt 2 ps 2.4 lw 3 lc rgb "black" notitle, \
     for [l in scale_labels] sfile(l) using "conns":"fail_kern" with points pt 2 ps 2.4 lw 3 lc rgb "black" notitle

set title "Requests per second\n{/*0.85 solid: served; dotted: offered, N ÷ (think + wait)}"
eval panel(2, 2)
set ylabel "requests per second (log scale)"
set format y "%.0s%c"
plot for [l in scale_labels] sfile(l) using "conns":"rps" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.2 notitle, \
     for [l in scale_labels] sfile(l) using "conns":"offered" with lines lw 1.5 dt 3 lc rgb "#777777" notitle, \
     for [l in scale_labels] sfile(l) using "conns":"fail_rps" with points pt 2 ps 2.4 lw 3 lc rgb "black" notitle

eval legend_panel(sprintf("for [l in '%s'] NaN with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.1 title sname(l).' processes', NaN with lines lw 1.5 dt 3 lc rgb '#777777' title 'offered', NaN with points pt 2 ps 1.6 lw 3 lc rgb 'black' title 'failed (at the wall: its peak)'", scale_labels))
unset multiplot
