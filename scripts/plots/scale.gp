# scale.gp: the wall search's probes (several processes per design, closed loop with a
# think time): memory and requests/s against connections, each design's wall marked with
# what stopped it.
# needs: scale_*.dat
W = 1100; H = 660
load plotdir."/style.gpi"
set multiplot title "To the walls: ".scale_desc font ",13"
set logscale xy
set key off
set xrange [scale_xmin:scale_xmax]
set format y "%g"
sfile(l) = sprintf("%s/scale_%s.dat", datadir, l)
eval "set xtics (".scale_xtics.")"
xmid = sqrt(scale_xmin * scale_xmax)
if (exists("walls_n")) {
    do for [i=1:walls_n] {
        wx = value(sprintf("wall_x_%d", i))
        wl = value(sprintf("wall_label_%d", i))
        wt = value(sprintf("wall_text_%d", i))
        set arrow i from first wx, graph 0 to first wx, graph 1 nohead dt 3 lw 1.5 lc rgb col(wl)
        if (wx < xmid) {
            set label i wt at first wx, graph (1.0 - 0.05 * i) left offset 0.5, 0 tc rgb col(wl) font ",8"
        } else {
            set label i wt at first wx, graph (1.0 - 0.05 * i) right offset -0.5, 0 tc rgb col(wl) font ",8"
        }
    }
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

eval legend_panel(sprintf("for [l in '%s'] NaN with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.1 title name(l), NaN with lines lw 1.5 dt 3 lc rgb '#777777' title 'offered', NaN with points pt 2 ps 1.6 lw 3 lc rgb 'black' title 'failed (at the wall: its peak)'", scale_labels))
unset multiplot
