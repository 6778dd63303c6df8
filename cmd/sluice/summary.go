package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/stage"
)

const summaryAuto = "auto"

// resolveSummary picks how --summary prints the end of a run: auto is json
// when the log is JSON, so that a log collector reads every line of stderr
// as JSON, and text otherwise.
func resolveSummary(mode, logFormat string) (func(io.Writer, *engine.Report, []plugins.Build), error) {
	if mode == summaryAuto {
		mode = "text"
		if logFormat == "json" {
			mode = "json"
		}
	}
	switch mode {
	case "text":
		return printSummary, nil
	case "json":
		return printJSONSummary, nil
	case "none":
		return func(io.Writer, *engine.Report, []plugins.Build) {}, nil
	}
	return nil, fmt.Errorf("--summary: expected auto, text, json or none, got %q", mode)
}

// printJSONSummary writes the summary as one JSON log line (time, level,
// msg "run summary") whose "report" holds what --report writes
// (docs/report.schema.json).
func printJSONSummary(w io.Writer, rep *engine.Report, builds []plugins.Build) {
	if rep == nil {
		return
	}
	level := slog.LevelInfo
	if rep.Status != engine.StatusOK {
		level = slog.LevelError
	}
	slog.New(slog.NewJSONHandler(w, nil)).Log(context.Background(), level, "run summary", "report", runReport{rep, builds})
}

// printSummary writes the end-of-run summary, whatever the outcome: a
// headline (status, wall time and setup time, input and throughput,
// records, peak RSS),
// what it did about commits that earlier runs left unfinished, the ledger
// of every stage with how busy it was and its rate, the stages' own
// counters (plugin restarts), their warnings, the totals, and the outputs
// and dead-letter files (a failed run's under their .failed-<run id>
// names). A plugin built from source during setup has a line of
// its own with the build's duration, a step apart from every stage (the
// build is part of the setup time, not of a stage's busy time).
// --report writes the same as JSON.
func printSummary(w io.Writer, rep *engine.Report, builds []plugins.Build) {
	if rep == nil {
		return
	}
	status := "done"
	switch rep.Status {
	case engine.StatusFailed:
		status = "FAILED"
	case engine.StatusInterrupted:
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
			fmt.Fprintf(w, " (largest plugin process %s)", humanBytes(rep.PeakChildRSS))
		}
	}
	fmt.Fprintln(w)
	for _, r := range rep.Recovered {
		fmt.Fprintf(w, "before this run: %s\n", r)
	}
	for _, b := range builds {
		fmt.Fprintln(w, buildLine(b))
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// The filtered column appears when a stage dropped records on purpose.
	filtered := rep.Totals.Filtered > 0
	header := "stage\tkind\tworkers\tin\tout\t"
	if filtered {
		header += "filtered\t"
	}
	fmt.Fprintln(tw, header+"skipped\tdead-lettered\terrored\tcancelled\tdropped\tbusy\tbusy%\trecords/s\t")
	for _, s := range rep.Stages {
		busyPct, rate := "", ""
		if secs > 0 && len(s.Inputs) > 0 { // sources keep no busy time
			busyPct = fmt.Sprintf("%.0f%%", 100*s.Busy.Seconds()/secs/float64(max(s.Workers, 1)))
			rate = formatCount(s.RecordsPerSecond) // a splitter's: the records it made
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t", s.Name, s.Kind, s.Workers, s.In, s.Out)
		if filtered {
			fmt.Fprintf(tw, "%d\t", s.Filtered)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n",
			s.Skipped, s.DeadLettered, s.Errored, s.Cancelled, s.Dropped, s.Busy.Round(time.Millisecond), busyPct, rate)
	}
	tw.Flush()

	for _, s := range rep.Stages {
		var parts []string
		for _, st := range s.Stats {
			if st.Kind == stage.StatCounter || st.Name == stage.StatPluginRestarts {
				parts = append(parts, fmt.Sprintf("%s %g", strings.ReplaceAll(st.Name, "_", " "), st.Value))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s: %s\n", s.Name, strings.Join(parts, ", "))
		}
	}
	printWarnings(w, rep)
	t := rep.Totals
	if t.Skipped+t.DeadLettered+t.Errored+t.Cancelled+t.Dropped > 0 {
		fmt.Fprintf(w, "rejected records: %d skipped, %d dead-lettered, %d errored, %d cancelled, %d dropped\n", t.Skipped, t.DeadLettered, t.Errored, t.Cancelled, t.Dropped)
	}
	for _, s := range rep.Stages {
		switch {
		case s.DeadLetterFile == "":
		case rep.Status == engine.StatusOK:
			fmt.Fprintf(w, "dead letters of %s: %s (%d records)\n", s.Name, s.DeadLetterFile, s.DeadLettered)
		default:
			fmt.Fprintf(w, "dead letters of %s, kept from this %s run: %s (%d records)\n", s.Name, rep.Status, s.DeadLetterFile, s.DeadLettered)
		}
	}
	if t.OutputFiles > 0 {
		// Rows are added up over the files: a record written to two of
		// them counts twice, and a count output adds its rows of counts.
		fmt.Fprintf(w, "outputs: %d files, %s, %d rows summed over the files\n", t.OutputFiles, humanBytes(t.OutputBytes), t.OutputRecords)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range rep.Stages {
			for _, o := range s.Outputs {
				fmt.Fprintf(tw, "  %s\t%d rows\t%s\t%s\n", o.Path, o.Records, humanBytes(o.Bytes), o.Note)
			}
		}
		tw.Flush()
	}
}

// printWarnings lists the stages' warnings (stage.Env.Warnings), the first
// ones of each stage and how many more the log has.
func printWarnings(w io.Writer, rep *engine.Report) {
	for _, s := range rep.Stages {
		for _, msg := range s.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", s.Name, msg)
		}
		if more := s.WarningCount - int64(len(s.Warnings)); more > 0 {
			fmt.Fprintf(w, "warning: %s: %d more warnings in the log\n", s.Name, more)
		}
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
