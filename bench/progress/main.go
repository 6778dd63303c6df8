package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/creack/pty"

	"github.com/sluicehq/sluice/internal/corpus"
	"github.com/sluicehq/sluice/stage"
)

func main() {
	size := flag.String("size", "200MB", "corpus size (e.g. 200MB, 1GB)")
	runs := flag.Int("runs", 5, "runs of each mode")
	keep := flag.String("keep", "", "generate the corpus in this directory and keep it (reused when it exists)")
	bin := flag.String("bin", "", "the sluice binary to measure (default: build ./cmd/sluice)")
	flag.Parse()
	if err := run(*size, *runs, *keep, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench/progress:", err)
		os.Exit(1)
	}
}

func run(sizeFlag string, runs int, keep, bin string) error {
	size, err := stage.ParseByteSize(sizeFlag)
	if err != nil {
		return fmt.Errorf("-size: %w", err)
	}
	pipeline, err := os.ReadFile("pipeline.yaml")
	if err != nil {
		return fmt.Errorf("%w (run from the repository root)", err)
	}
	tmp, err := os.MkdirTemp("", "sluice-bench-progress-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if bin == "" {
		bin = filepath.Join(tmp, "sluice")
		build := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build sluice: %w", err)
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		return err
	}

	work := keep
	if work == "" {
		work = filepath.Join(tmp, "work")
	}
	total, err := generate(work, int64(size))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "pipeline.yaml"), pipeline, 0o644); err != nil {
		return err
	}
	if err := linkExamples(work); err != nil {
		return err
	}
	fmt.Printf("corpus: %s in %s\n", human(total), work)

	rates, cpus := map[string][]float64{}, map[string][]float64{}
	modes := []string{"tty", "none"}
	for i := range runs {
		for j := range modes {
			mode := modes[(i+j)%2] // alternate which goes first, against drift
			mbps, cpu, err := once(bin, work, mode)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", mode, i+1, err)
			}
			rates[mode] = append(rates[mode], mbps)
			cpus[mode] = append(cpus[mode], cpu.Seconds())
			fmt.Printf("run %d  --progress %-4s  %7.1f MB/s  %6.2f s CPU\n", i+1, mode, mbps, cpu.Seconds())
		}
	}
	for _, m := range modes {
		fmt.Printf("\n--progress %-4s  median %7.1f MB/s (%.1f–%.1f), median CPU %.2f s (%.2f–%.2f)", m,
			median(rates[m]), slices.Min(rates[m]), slices.Max(rates[m]), median(cpus[m]), slices.Min(cpus[m]), slices.Max(cpus[m]))
	}
	fmt.Printf("\ntty/none: throughput %.3f, CPU %.3f (of %d runs each)\n",
		median(rates["tty"])/median(rates["none"]), median(cpus["tty"])/median(cpus["none"]), runs)
	return nil
}

// once runs the root pipeline in work and returns its throughput in MB/s
// (10^6 bytes) from the run report, setup (building and starting the
// plugin) left out, and the CPU time of the sluice process and the
// children it waited for (the plugins). On a shared machine the CPU time
// is the steadier measure of what the display costs.
func once(bin, work, mode string) (float64, time.Duration, error) {
	report := filepath.Join(work, "bench-report.json")
	cmd := exec.Command(bin, "run", "--progress", mode, "--report", report)
	cmd.Dir = work
	var out strings.Builder
	if mode == "tty" {
		// A real terminal: the display draws as it would for a user, and
		// the output is read as fast as a terminal would.
		f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
		if err != nil {
			return 0, 0, err
		}
		done := make(chan struct{})
		go func() { io.Copy(&out, f); close(done) }()
		err = cmd.Wait()
		f.Close()
		<-done
		if err != nil {
			return 0, 0, fmt.Errorf("%w\n%s", err, tail(out.String()))
		}
	} else {
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return 0, 0, fmt.Errorf("%w\n%s", err, tail(out.String()))
		}
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	b, err := os.ReadFile(report)
	if err != nil {
		return 0, 0, err
	}
	var rep struct {
		InputBytes int64 `json:"input_bytes"`
		Duration   int64 `json:"duration_ns"`
		Setup      int64 `json:"setup_ns"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return 0, 0, err
	}
	if rep.Duration-rep.Setup <= 0 {
		return 0, 0, errors.New("report without a duration")
	}
	return float64(rep.InputBytes) / 1e6 / time.Duration(rep.Duration-rep.Setup).Seconds(), cpu, nil
}

// generate writes the corpus (four XML files and a CSV) under dir, unless
// it is there already, and returns its size.
func generate(dir string, size int64) (int64, error) {
	const xmlRecord, csvRecord = 450, 160 // bytes per record, roughly
	xmlDir := filepath.Join(dir, "examples", "data", "catalog")
	csvPath := filepath.Join(dir, "examples", "data", "loans.csv")
	if err := os.MkdirAll(xmlDir, 0o755); err != nil {
		return 0, err
	}
	files := map[string]func(io.Writer) error{}
	perXML := int(size * 9 / 10 / 4 / xmlRecord)
	for i := range 4 {
		files[filepath.Join(xmlDir, fmt.Sprintf("catalogue-%c.xml", 'a'+i))] = func(w io.Writer) error {
			return corpus.WriteXML(w, uint64(i+1), perXML)
		}
	}
	files[csvPath] = func(w io.Writer) error { return corpus.WriteCSV(w, 99, int(size/10/csvRecord)) }
	var total int64
	for path, write := range files {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			total += st.Size()
			continue
		}
		f, err := os.Create(path)
		if err != nil {
			return 0, err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
		st, err := os.Stat(path)
		if err != nil {
			return 0, err
		}
		total += st.Size()
	}
	return total, nil
}

// linkExamples links every directory of examples/ but data (the
// classifier plugin's source, its rules) into work, where the root
// pipeline looks for them.
func linkExamples(work string) error {
	entries, err := os.ReadDir("examples")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "data" {
			continue
		}
		abs, err := filepath.Abs(filepath.Join("examples", e.Name()))
		if err != nil {
			return err
		}
		link := filepath.Join(work, "examples", e.Name())
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(abs, link); err != nil {
			return err
		}
	}
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func tail(s string) string {
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}
