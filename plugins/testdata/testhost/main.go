// Command testhost starts a plugins.Pool and waits, for the tests that kill
// a host: it prints "pids P1 P2 ..." (the plugin processes) on stdout once
// the pool is up, then blocks. On SIGINT or SIGTERM it closes the pool and
// exits 0; on SIGKILL it just dies.
//
//	testhost PLUGIN-EXECUTABLE INSTANCES
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/plugins"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, _ := strconv.Atoi(os.Args[2])
	cfg := plugins.DefaultConfig()
	cfg.Command = []string{os.Args[1]}
	cfg.Instances = plugins.Instances(n)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	pool, err := plugins.Start(ctx, cfg, "host-test", log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var pids []string
	for _, pid := range pool.PIDs() {
		pids = append(pids, strconv.Itoa(pid))
	}
	fmt.Printf("pids %s\n", strings.Join(pids, " "))
	<-ctx.Done()
	if err := pool.Close(context.WithoutCancel(ctx)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
