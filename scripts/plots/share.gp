# share.gp: the shared table (C7): per design, server CPU per request and p99 latency
# without the table (the grid's run at the same point) and with it, and the time a request
# spends getting and updating it; the unguarded thread server's lost updates annotated.
# needs: share.dat
W = 1260; H = 640
load plotdir."/style.gpi"
sd = datadir."/share.dat"
set multiplot title "Requests on a shared table\n{/*0.85 ".share_desc." (".server_cpus_text."; no lock: --lock none)}" font ",14"
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.38
set xrange [-0.6:share_n - 0.4]
set grid noxtics
set xtics rotate by -25 font ",10" nomirror
set xlabel ""
set key top left font ",10"
set yrange [0:*]
set offsets 0, 0, graph 0.3, 0
set bmargin 7
set size 0.34, 0.86
set origin 0, 0.02
set title "server CPU per request"
set ylabel "µs"
plot sd using ($0 - 0.2):"cpu0":xtic(stringcolumn("name")) with boxes lc rgb "#bdbdbd" title "without the table", \
     "" using ($0 + 0.2):"cpu" with boxes lc rgb "#6baed6" title "with it"
set origin 0.33, 0.02
set title "p99 latency"
set ylabel "ms"
plot sd using ($0 - 0.2):(column("p990_us") / 1000):xtic(stringcolumn("name")) with boxes lc rgb "#bdbdbd" title "without the table", \
     "" using ($0 + 0.2):(column("p99_us") / 1000) with boxes lc rgb "#fb6a4a" title "with it"
set origin 0.66, 0.02
set title "getting and updating the table, per update"
set ylabel "µs (lock wait included)"
set boxwidth 0.6
set key off
plot sd using 0:(column("ns") / 1000):xtic(stringcolumn("name")) with boxes lc rgb "#74c476" notitle, \
     "" using 0:(column("ns") / 1000):(column("lost") > 0 ? stringcolumn("lost_text") : "") with labels rotate by 90 left offset 0, 0.6 font ",9" tc rgb "#a50f15" notitle
unset multiplot
