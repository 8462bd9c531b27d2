# stop.gp: the stop scenario (C7): time from SIGTERM to the server's exit against
# connections, per design; a cross marks a stop that was not clean, labelled with what
# went wrong (requests in flight cut, idle connections reset, killed).
# needs: stop_*.dat
W = 1000; H = 620
load plotdir."/style.gpi"
sf(l) = sprintf("%s/stop_%s.dat", datadir, l)
set title "Graceful stop: SIGTERM to exit\n{/*0.85 ".stop_desc." (".server_cpus_text.")}"
set logscale xy
set ylabel "SIGTERM to exit, s (log scale)"
set format y "%g"
set key top left
set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.05
# the crosses first, so that each design's own marker stays visible on top; only the designs
# with an unclean stop have them (stop_unclean_labels)
if (strlen(stop_unclean_labels) > 0) {
plot for [l in stop_unclean_labels] sf(l) using "conns":"unclean_s" with points pt 2 ps 2.6 lw 3 lc rgb "black" notitle, \
     for [l in stop_labels] sf(l) using "conns":"exit_s" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.3 title name(l), \
     for [l in stop_unclean_labels] sf(l) using "conns":"unclean_s":(stringcolumn("mark")) with labels offset 0, 1.4 font ",9" tc rgb col(l) notitle, \
     NaN with points pt 2 ps 1.8 lw 3 lc rgb "black" title "not clean: what it cut, reset or was killed for"
} else {
plot for [l in stop_labels] sf(l) using "conns":"exit_s" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.3 title name(l)." (every stop clean)"
}
