package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/groupmember"
	"github.com/parley-im/parley/ent/viewer"
)

// fanoutScenario: one group of -group-size members, every member
// subscribed to events on his own WebSocket; its owner sends -rounds
// messages one at a time, and each round's figure is the time from the send
// request to the last member's receipt. The baseline is the same path with
// one receiver: a two-member group, in the same run.
//
// The group's rows are written directly through the in-process server's ent
// client (a conversation of kind group, the group, and a group member and a
// conversation member per user), as the group service would: messages are
// then sent and received through the API as usual. Groups' own API was
// being built at the same time; see docs/PERFORMANCE.md.
func fanoutScenario(ctx context.Context, e *env) error {
	if e.proc == nil {
		return fmt.Errorf("fanout builds its group through the in-process server's database client: run it without -url")
	}
	cli := newAPI(e.base, 32)
	users, err := cli.registerMany(ctx, "fan", e.opt.groupSize, 8)
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
	e.report.add(row{
		scenario: "fanout", figure: fmt.Sprintf("send → last of %d deliveries, %d rounds", len(users), len(big.last)),
		value:    summary(big.last),
		baseline: fmt.Sprintf("2-member group: %s", summary(small.last)),
		ratio:    float64(base99) / float64(max(p99, 1)), ratioOf: "2-member p99/1,000-member p99",
		goal: "p99 ≤ 100 ms", met: boolp(p99 <= 100*time.Millisecond && len(users) >= 1000),
	})
	e.report.note("fanout: time to the first delivery %s; from the first delivery to the last (the fan-out itself) %s; the group's send request alone %s",
		summary(big.first), summary(big.spread), summary(big.send))
	return nil
}

type fanoutResult struct {
	first, last, send []time.Duration // sorted
	spread            []time.Duration // last minus first delivery of a round, sorted
}

func runFanout(ctx context.Context, e *env, cli *api, members []user, rounds int, tag string) (fanoutResult, error) {
	var res fanoutResult
	groupID, err := makeGroup(ctx, e.proc.app.Client, members, tag)
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
		if ev.Kind != "message.created" || ev.Node == nil {
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
	before := hubSubscriptions(e)
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
			s, err := subscribe(ctx, d, e.base, m.Token, eventsSubscription, onEvent)
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
	if err := waitLive(e, before+len(members)); err != nil {
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

// makeGroup writes a group owned by members[0] with every member in it and
// returns its API id.
func makeGroup(ctx context.Context, client *ent.Client, members []user, tag string) (string, error) {
	sys := viewer.SystemContext(ctx)
	tx, err := client.Tx(sys)
	if err != nil {
		return "", err
	}
	ids := make([]int, len(members))
	for i, m := range members {
		if ids[i], err = strconv.Atoi(m.ID); err != nil {
			tx.Rollback()
			return "", err
		}
	}
	fail := func(err error) (string, error) {
		tx.Rollback()
		return "", fmt.Errorf("make group: %w", err)
	}
	conv, err := tx.Conversation.Create().SetKind(conversation.KindGroup).Save(sys)
	if err != nil {
		return fail(err)
	}
	g, err := tx.Group.Create().SetName("load " + tag).SetOwnerID(ids[0]).SetConversationID(conv.ID).
		SetMemberCount(len(ids)).Save(sys)
	if err != nil {
		return fail(err)
	}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		gms := make([]*ent.GroupMemberCreate, len(chunk))
		cms := make([]*ent.ConversationMemberCreate, len(chunk))
		for i, uid := range chunk {
			role := groupmember.RoleMember
			if uid == ids[0] {
				role = groupmember.RoleOwner
			}
			gms[i] = tx.GroupMember.Create().SetGroupID(g.ID).SetUserID(uid).SetRole(role)
			cms[i] = tx.ConversationMember.Create().SetConversationID(conv.ID).SetUserID(uid)
		}
		if err := tx.GroupMember.CreateBulk(gms...).Exec(sys); err != nil {
			return fail(err)
		}
		if err := tx.ConversationMember.CreateBulk(cms...).Exec(sys); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("make group: %w", err)
	}
	return strconv.Itoa(g.ID), nil
}
