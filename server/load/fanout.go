package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// fanoutScenario: one group of -group-size members, every member
// subscribed to events on his own WebSocket; its owner sends -rounds
// messages one at a time, and each round's figure is the time from the send
// request to the last member's receipt. The baseline is the same path with
// one receiver: a two-member group, in the same run.
//
// The group is built through the API too: createGroup, then joinGroup by
// every member (it is open). A group holds at most group.MembersMax members.
//
// With two instances the owner sends through A and the members subscribe
// on A and B alternately (the 2-member baseline: the owner on A, the other
// member on B).
func fanoutScenario(ctx context.Context, e *env) error {
	cli := newAPI(e.base, 32)
	users, err := cli.registerMany(ctx, fmt.Sprintf("fan%d", e.instanceCount()), e.opt.groupSize, 8)
	if err != nil {
		return err
	}
	small, err := runFanout(ctx, e, cli, users[:2], min(e.opt.rounds, 30), "small")
	if err != nil {
		return fmt.Errorf("2-member group: %w", err)
	}
	big, err := runFanout(ctx, e, cli, users, e.opt.rounds, "big")
	if err != nil {
		return fmt.Errorf("%d-member group: %w", len(users), err)
	}
	p99, base99 := pct(big.last, 99), pct(small.last, 99)
	figure := fmt.Sprintf("send → last of %d deliveries, %d rounds", len(users), len(big.last))
	e.report.measured("fanout", figure, e.instanceCount(), float64(p99), fmt.Sprintf("p50 %s, p99 %s", ms(pct(big.last, 50)), ms(p99)), false)
	e.report.measured("fanout", "send → receipt in a 2-member group", e.instanceCount(), float64(base99),
		fmt.Sprintf("p50 %s, p99 %s", ms(pct(small.last, 50)), ms(base99)), false)
	e.report.add(row{
		scenario: "fanout", figure: figure + e.label(),
		value:    summary(big.last),
		baseline: fmt.Sprintf("2-member group: %s", summary(small.last)),
		ratio:    float64(base99) / float64(max(p99, 1)), ratioOf: "2-member p99/1,000-member p99",
		goal: "p99 ≤ 1.5× the 2-member p99 (ratio ≥ 0.67)", met: boolp(2*p99 <= 3*base99 && len(users) >= 1000),
	})
	e.report.note("fanout%s: time to the first delivery %s; from the first delivery to the last (the fan-out itself) %s; the group's send request alone %s", e.label(),
		summary(big.first), summary(big.spread), summary(big.send))
	return nil
}

type fanoutResult struct {
	first, last, send []time.Duration // sorted
	spread            []time.Duration // last minus first delivery of a round, sorted
}

func runFanout(ctx context.Context, e *env, cli *api, members []user, rounds int, tag string) (fanoutResult, error) {
	var res fanoutResult
	groupID, err := makeGroup(ctx, cli, members, tag)
	if err != nil {
		return res, err
	}
	var (
		mu       sync.Mutex
		want     string
		got      int
		firstAt  time.Time
		lastAt   time.Time
		complete = make(chan struct{}, 1)
	)
	onEvent := func(ev event) {
		if ev.Kind != "MESSAGE_CREATED" || ev.Node == nil {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if ev.Node.Text != want {
			return
		}
		got++
		if got == 1 {
			firstAt = now
		}
		if got == len(members) {
			lastAt = now
			complete <- struct{}{}
		}
	}
	live := liveCounts(e)
	for i := range members {
		if len(live) > 0 {
			live[i%len(live)]++ // member i subscribes on e.baseOf(i)
		}
	}
	subs := make([]*subscriber, len(members))
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	sem := make(chan struct{}, 32)
	d := wsDialer(nil)
	for i, m := range members {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := subscribe(ctx, d, e.baseOf(i), m.Token, eventsSubscription, onEvent)
			if err != nil {
				select {
				case errc <- err:
				default:
				}
				return
			}
			subs[i] = s
		}()
	}
	wg.Wait()
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.Close()
			}
		}
	}()
	select {
	case err := <-errc:
		return res, fmt.Errorf("subscribe: %w", err)
	default:
	}
	if err := waitLiveAll(e, live); err != nil {
		return res, err
	}
	var first, last, send, spread durations
	for r := -2; r < rounds; r++ { // two unmeasured rounds warm up
		text := fmt.Sprintf("fan-%s-%d", tag, r)
		mu.Lock()
		want, got = text, 0
		mu.Unlock()
		t0 := time.Now()
		if _, err := cli.sendGroup(ctx, members[0], groupID, text); err != nil {
			return res, err
		}
		sent := time.Since(t0)
		select {
		case <-complete:
		case <-time.After(10 * time.Second):
			mu.Lock()
			n := got
			mu.Unlock()
			return res, fmt.Errorf("round %d: %d of %d members received the message within 10 s", r, n, len(members))
		}
		if r >= 0 {
			mu.Lock()
			first.add(firstAt.Sub(t0))
			last.add(lastAt.Sub(t0))
			spread.add(lastAt.Sub(firstAt))
			if e.opt.verbose {
				fmt.Fprintf(os.Stderr, "   round %d: send %s, first %s, last %s\n", r, ms(sent), ms(firstAt.Sub(t0)), ms(lastAt.Sub(t0)))
			}
			mu.Unlock()
			send.add(sent)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.first, res.last, res.send, res.spread = first.snapshot(), last.snapshot(), send.snapshot(), spread.snapshot()
	fmt.Fprintf(os.Stderr, "   %d members: last delivery %s\n", len(members), summary(res.last))
	return res, nil
}

// makeGroup creates an open group owned by members[0] through the API, and
// every other member joins it with joinGroup, parallel; it returns the
// group's id.
func makeGroup(ctx context.Context, cli *api, members []user, tag string) (string, error) {
	var out struct{ CreateGroup struct{ ID string } }
	err := cli.Query(ctx, members[0].Token,
		`mutation($name: String!) { createGroup(input: {name: $name, joinMode: open}) { id } }`,
		map[string]any{"name": "load " + tag}, &out)
	if err != nil {
		return "", fmt.Errorf("make group: %w", err)
	}
	id := out.CreateGroup.ID
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, m := range members[1:] {
		g.Go(func() error {
			var joined struct{ JoinGroup struct{ ID string } }
			if err := cli.Query(gctx, m.Token, `mutation($g: ID!) { joinGroup(groupId: $g) { id } }`,
				map[string]any{"g": id}, &joined); err != nil {
				return fmt.Errorf("make group: join: %w", err)
			}
			return nil
		})
	}
	return id, g.Wait()
}
