package bench

import (
	"context"
	"fmt"
	"time"
)

// HistoryPoint is the cost of one send, and of its delivery to another
// client, in a room that already holds History messages.
type HistoryPoint struct {
	Model    string
	History  int
	Send     Percentiles // until the sender's send is acknowledged
	Delivery Percentiles // until the other client's chat layer holds it
}

// RunHistory measures send and delivery time against history size: for
// each size a fresh room is filled, then one client sends samples
// messages one after another while another receives them.
func RunHistory(ctx context.Context, newModel func(context.Context) (Model, error), sizes []int, samples int) ([]HistoryPoint, error) {
	var out []HistoryPoint
	for _, size := range sizes {
		m, err := newModel(ctx)
		if err != nil {
			return out, err
		}
		if err := m.Prefill(ctx, size); err != nil {
			return out, fmt.Errorf("%s: fill %d messages: %w", m.Name(), size, err)
		}
		p, err := measureSends(ctx, m, samples)
		if err != nil {
			return out, fmt.Errorf("%s at %d messages: %w", m.Name(), size, err)
		}
		p.History = size
		out = append(out, p)
	}
	return out, nil
}

func measureSends(ctx context.Context, m Model, samples int) (HistoryPoint, error) {
	sender, err := m.Connect(ctx, 0)
	if err != nil {
		return HistoryPoint{}, err
	}
	defer sender.Close()
	receiver, err := m.Connect(ctx, 1)
	if err != nil {
		return HistoryPoint{}, err
	}
	defer receiver.Close()
	var sends, deliveries []time.Duration
	for j := 0; j < samples; j++ {
		text := benchText(0, j)
		t0 := time.Now()
		if err := sender.Send(ctx, text); err != nil {
			return HistoryPoint{}, err
		}
		sends = append(sends, time.Since(t0))
		if err := waitText(ctx, receiver, text); err != nil {
			return HistoryPoint{}, err
		}
		deliveries = append(deliveries, time.Since(t0))
	}
	return HistoryPoint{Model: m.Name(), Send: percentiles(sends), Delivery: percentiles(deliveries)}, nil
}

func waitText(ctx context.Context, c Client, text string) error {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case texts, ok := <-c.Delivered():
			if !ok {
				return fmt.Errorf("receiver stopped")
			}
			for _, t := range texts {
				if t == text {
					return nil
				}
			}
		case <-timeout:
			return fmt.Errorf("%q never delivered", text)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
