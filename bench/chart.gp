# The chart of bench/run: median req/s per target (bars; whiskers = slowest and fastest round)
# and p50/p99 latency (log scale). Called as
#   gnuplot -e "datafile='chart.dat'; outfile='chart.png'; charttitle='...'" bench/chart.gp
# chart.dat columns: index "label" rps_median rps_min rps_max p50_ms p99_ms
# chartwidth (optional, pixels): wider for more targets.
if (!exists("chartwidth")) chartwidth = 1400
set terminal pngcairo size chartwidth,600 font "DejaVu Sans,10"
set bmargin 4
set output outfile
set multiplot layout 1,2 title charttitle font ",12"
set style fill solid 0.8 border -1
set grid ytics lc rgb "#dddddd"
set xtics nomirror font ",9"
set key top right

set title "throughput (median of rounds; whiskers: min/max round)"
set ylabel "requests per second"
set yrange [0:*]
set format y "%.0f"
set boxwidth 0.6
plot datafile using 1:3:xtic(2) with boxes lc rgb "#4477aa" notitle, \
     "" using 1:3:4:5 with yerrorbars lc rgb "#222222" pt 0 lw 1.5 notitle, \
     "" using 1:5:(sprintf("%.0f", $3)) with labels offset 0,1.0 font ",9" notitle

set title "latency at the benchmark's concurrency (median of rounds)"
set ylabel "milliseconds (log scale)"
set logscale y
set yrange [*:*]
set format y "%g"
set key top left
set boxwidth 0.35
plot datafile using ($1-0.18):6:xtic(2) with boxes lc rgb "#66ccee" title "p50", \
     "" using ($1+0.18):7 with boxes lc rgb "#ee6677" title "p99", \
     "" using ($1+0.18):7:(sprintf("%.2f", $7)) with labels offset 0,0.8 font ",9" notitle
unset multiplot
