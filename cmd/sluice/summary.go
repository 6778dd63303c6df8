package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/plugins"
)

// printSummary writes the end-of-run summary, whatever the outcome: a
// headline (status, wall time and setup time, input and throughput,
// records, peak RSS),
// the ledger of every stage with how busy it was and its rate, the stages'
// own counters (plugin restarts), the totals, and the outputs and
// dead-letter files. A plugin built from source during setup has a line of
// its own with the build's duration, a step apart from every stage (the
// build is part of the setup time, not of a stage's busy time).
// --report writes the same as JSON.
func printSummary(w io.Writer, rep *core.Report, builds []plugins.Build) {
	if rep == nil {
		return
	}
	status := "done"
	switch rep.Status {
	case core.StatusFailed:
		status = "FAILED"
	case core.StatusInterrupted:
		status = "interrupted"
	}
	name := rep.Pipeline
	if name == "" {
		name = rep.File
	}
	secs := rep.Running().Seconds() // rates leave setup (plugin builds) out
	fmt.Fprintf(w, "\npipeline %s: %s in %s", name, status, rep.Duration.Round(time.Millisecond))
	if rep.Setup >= 50*time.Millisecond && rep.Setup < rep.Duration {
		fmt.Fprintf(w, " (setup %s)", rep.Setup.Round(time.Millisecond))
	}
	if rep.InputBytes > 0 {
		fmt.Fprintf(w, ", %s input", humanBytes(rep.InputBytes))
		if rep.ReadBytes != rep.InputBytes {
			fmt.Fprintf(w, " (%s read)", humanBytes(rep.ReadBytes))
		}
		if secs > 0 {
			fmt.Fprintf(w, " at %s", humanRate(float64(rep.ReadBytes)/secs))
		}
	}
	if rep.Totals.Records > 0 {
		fmt.Fprintf(w, ", %d records", rep.Totals.Records)
		if secs > 0 {
			fmt.Fprintf(w, " (%s/s)", formatCount(float64(rep.Totals.Records)/secs))
		}
	}
	if rep.PeakRSS > 0 {
		fmt.Fprintf(w, ", peak RSS %s", humanBytes(rep.PeakRSS))
		if rep.PeakChildRSS > 0 {
			fmt.Fprintf(w, " (largest child process %s)", humanBytes(rep.PeakChildRSS))
		}
	}
	fmt.Fprintln(w)
	for _, b := range builds {
		fmt.Fprintln(w, buildLine(b))
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tkind\tworkers\tin\tout\tskipped\tdead-lettered\terrored\tcancelled\tdropped\tbusy\tbusy%\trecords/s\t")
	for _, s := range rep.Stages {
		busyPct, rate := "", ""
		if secs > 0 && len(s.Inputs) > 0 { // sources keep no busy time
			busyPct = fmt.Sprintf("%.0f%%", 100*s.Busy.Seconds()/secs/float64(max(s.Workers, 1)))
			rate = formatCount(s.RecordsPerSecond)
			if s.Files > 0 {
				rate = formatCount(float64(s.Out) / secs) // a splitter: the records it made
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", s.Name, s.Kind, s.Workers,
			s.In, s.Out, s.Skipped, s.DeadLettered, s.Errored, s.Cancelled, s.Dropped, s.Busy.Round(time.Millisecond), busyPct, rate)
	}
	tw.Flush()

	for _, s := range rep.Stages {
		var parts []string
		for _, st := range s.Stats {
			if st.Kind == core.StatCounter || st.Name == core.StatPluginRestarts {
				parts = append(parts, fmt.Sprintf("%s %g", strings.ReplaceAll(st.Name, "_", " "), st.Value))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s: %s\n", s.Name, strings.Join(parts, ", "))
		}
	}
	t := rep.Totals
	if t.Skipped+t.DeadLettered+t.Errored+t.Cancelled+t.Dropped > 0 {
		fmt.Fprintf(w, "rejected records: %d skipped, %d dead-lettered, %d errored, %d cancelled, %d dropped\n", t.Skipped, t.DeadLettered, t.Errored, t.Cancelled, t.Dropped)
	}
	for _, s := range rep.Stages {
		if s.DeadLetterFile != "" {
			fmt.Fprintf(w, "dead letters of %s: %s (%d records)\n", s.Name, s.DeadLetterFile, s.DeadLettered)
		}
	}
	if t.OutputFiles > 0 {
		fmt.Fprintf(w, "outputs: %d files, %d records, %s\n", t.OutputFiles, t.OutputRecords, humanBytes(t.OutputBytes))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range rep.Stages {
			for _, o := range s.Outputs {
				fmt.Fprintf(tw, "  %s\t%d records\t%s\t%s\n", o.Path, o.Records, humanBytes(o.Bytes), o.Note)
			}
		}
		tw.Flush()
	}
}

// buildLine describes a plugin build: "plugin go-classifier built from
// examples/go-classifier in 12.3s".
func buildLine(b plugins.Build) string {
	took := b.Duration.Round(time.Millisecond)
	switch {
	case !b.Done:
		return fmt.Sprintf("plugin %s building from %s for %s", b.Plugin, b.Source, took)
	case b.Failed:
		return fmt.Sprintf("plugin %s: build from %s failed or stopped after %s", b.Plugin, b.Source, took)
	}
	return fmt.Sprintf("plugin %s built from %s in %s (cached for the next runs)", b.Plugin, b.Source, took)
}

// humanBytes writes a size in binary units: 512 B, 1.5 KiB, 2.0 GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
