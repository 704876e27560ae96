package main

// The bench's older sections (senders, latency, throughput, history):
// one run each, on one server shared by all of them.

import (
	"context"

	"github.com/webaas-chat/webaas-chat/bench"
)

func (b *benchRun) classic(ctx context.Context) error {
	f, rep := b.f, b.rep
	if !f.run["senders"] && !f.run["latency"] && !f.run["throughput"] && !f.run["history"] {
		return nil
	}
	cl, err := b.cluster(ctx)
	if err != nil {
		return err
	}
	defer cl.Stop()
	urls := cl.URLs
	newModel := func(name string) func(context.Context) (bench.Model, error) {
		return func(ctx context.Context) (bench.Model, error) {
			if name == "original" {
				return bench.NewOriginal(ctx, urls...)
			}
			return bench.NewOurs(ctx, f.e2e, urls...)
		}
	}
	if f.run["senders"] {
		b.prog.status("senders: %d clients × %d messages", f.senders, f.each)
		m, err := bench.NewOurs(ctx, false, urls...) // the senders check reads by code
		if err != nil {
			return err
		}
		res, err := bench.RunSenders(ctx, bench.SendersConfig{Server: urls[0], Room: m.Room, Clients: f.senders, Each: f.each})
		if err != nil {
			return err
		}
		b.prog.line("senders: %v", res)
		rep.Senders = &res
	}
	for _, name := range f.models {
		if f.run["latency"] {
			b.prog.status("latency: %s, %d clients at %.0f msg/s for %v", name, f.clients, f.rate, f.duration)
			m, err := newModel(name)(ctx)
			if err != nil {
				return err
			}
			res, err := bench.RunLoad(ctx, bench.LoadConfig{Model: m, Clients: f.clients, Rate: f.rate, Duration: f.duration})
			if err != nil {
				return err
			}
			b.prog.line("latency: %s: delivery %v", name, res.Delivery)
			rep.Latency = append(rep.Latency, res)
		}
		if f.run["throughput"] {
			b.prog.status("throughput: %s, %d clients × %d in flight for %v", name, f.tpClients, f.inFlight, f.duration)
			m, err := newModel(name)(ctx)
			if err != nil {
				return err
			}
			res, err := bench.RunLoad(ctx, bench.LoadConfig{Model: m, Clients: f.tpClients, InFlight: f.inFlight, Duration: f.duration})
			if err != nil {
				return err
			}
			b.prog.line("throughput: %s: %.0f msg/s", name, res.Throughput)
			rep.Throughput = append(rep.Throughput, res)
		}
		if f.run["history"] {
			b.prog.status("history: %s at %v messages", name, f.history)
			pts, err := bench.RunHistory(ctx, newModel(name), f.history, f.samples)
			if err != nil {
				return err
			}
			b.prog.line("history: %s done", name)
			rep.History = append(rep.History, pts...)
		}
	}
	if cl.Measured() {
		rep.ServerCPU, _ = cl.CPU()
		for _, p := range cl.Procs {
			_, peak, _ := p.Memory()
			rep.ServerPeak = max(rep.ServerPeak, peak)
		}
	}
	return nil
}
