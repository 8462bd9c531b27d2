# kernel_mem.gp: kernel memory per connection that RSS does not show (system-wide deltas).
# needs: series_*.dat
W = 1000; H = 700
load plotdir."/style.gpi"
set multiplot
eval panel(1, 1)
set title sprintf("Kernel memory per connection (N ≥ 100), system-wide deltas, %s\n{/*0.85 solid: KernelStack + SUnreclaim + TCP pages; dashed: KernelStack alone (the threads' kernel stacks)}", wname(mem_wait))
set logscale xy
set key off
# below 100 connections the system-wide deltas are noise, not a per-connection cost
set xrange [70:(xmax > 100 ? xmax : 150)]
set ylabel "KiB per connection (log scale)"
set format y "%g"
L = value("labels_w".mem_wait)
C = exists("cont_w".mem_wait) ? value("cont_w".mem_wait) : ""
if (has("kern_pc_kib", mem_wait)) {
    eval "plot ".curve("kern_pc_kib", L, mem_wait, 1, " total").", ".curve("kstack_pc_kib", L, mem_wait, 2, " KernelStack").ccurve("kern_pc_kib", C, mem_wait, 1, " total").marks("kern_pc_kib", L." ".C, mem_wait)
} else {
    eval nodata
}
eval legend_panel(legend_curve(labels_all, 1, " total").", ".legend_curve(labels_all, 2, " KernelStack").legend_ccurve(cont_all, 1, " total").legend_marks)
unset multiplot
