// Package room holds the rules of public chat rooms: any signed-in
// user creates one, joins and leaves, and reads its history; its owner
// modifies and deletes it. A room is a conversation of kind room, which every
// signed-in user may read (rule.VisibleConversation); members post in it
// (messaging.Send with roomId). Room events carry the live online count:
// the room's members who hold a connection to any server instance
// (presence); joins and leaves carry it, and room.online tells when
// members connect or disconnect (Announcer).
package room

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect/sql"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/conversation"
	"github.com/parley-im/parley/ent/conversationmember"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/presence"
	entroom "github.com/parley-im/parley/ent/room"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/throttle"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/messaging"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/eventlog"
	"github.com/parley-im/parley/internal/platform/txn"
)

// Reasons of the room rules.
const (
	ReasonNameTaken     = "ROOM_NAME_TAKEN"
	ReasonNotOwner      = "NOT_ROOM_OWNER"
	ReasonNotMember     = "NOT_ROOM_MEMBER"
	ReasonTargetMissing = "ROOM_REQUIRED"
	// ReasonOwnerCannotLeave is the groups' reason of the same rule: an
	// owner deletes his room rather than leave it ownerless.
	ReasonOwnerCannotLeave = "OWNER_CANNOT_LEAVE"
)

// Limits of rooms.
const (
	NameMax   = 64
	DetailMax = 1024
	SearchMax = apperr.SearchMax
)

// Event kinds (and KindOnline, online.go). Joins, leaves and changes go on
// the room's topic
// (eventlog.RoomTopic), which only roomEvents listens to, so that members'
// events streams carry the room's messages without its traffic of people;
// the deletion goes on the conversation's topic, which every member's
// streams and roomEvents listen to.
const (
	KindJoined  = "room.joined"
	KindLeft    = "room.left"
	KindUpdated = "room.updated"
	KindDeleted = "room.deleted"
)

// Avatars checks an avatar named by file id and gives its URL (the files
// service, which holds the one rule for avatars).
type Avatars = messaging.Avatars

// Presence says how long a presence row stays fresh (the presence tracker).
type Presence interface {
	TTL() time.Duration
}

// Service is the room service.
type Service struct {
	client    *ent.Client
	log       *eventlog.Log
	messaging *messaging.Service
	avatars   Avatars
	presence  Presence
}

// NewService returns the room service.
func NewService(client *ent.Client, log *eventlog.Log, msg *messaging.Service, avatars Avatars, p Presence) *Service {
	return &Service{client: client, log: log, messaging: msg, avatars: avatars, presence: p}
}

// reader returns the client queries go through.
func (s *Service) reader(ctx context.Context) *ent.Client { return txn.Reader(ctx, s.client) }

// loadRoom returns a room; rooms are public, so a missing one is the only
// NOT_FOUND.
func loadRoom(ctx context.Context, db *ent.Client, id int) (*ent.Room, error) {
	r, err := db.Room.Get(ctx, id)
	return apperr.Found(r, err, "room", "room: load")
}

// loadOwnedRoom loads a room that the signed-in viewer owns, for a write in
// the request's transaction: NOT_ROOM_OWNER when he does not own it.
func loadOwnedRoom(ctx context.Context, id int) (db *ent.Client, me int, r *ent.Room, err error) {
	if db, me, err = messaging.SignedInWriter(ctx); err != nil {
		return nil, 0, nil, err
	}
	if r, err = loadRoom(ctx, db, id); err != nil {
		return nil, 0, nil, err
	}
	if r.OwnerID != me {
		return nil, 0, nil, apperr.Deny(ReasonNotOwner, "only the room's owner may do this")
	}
	return db, me, r, nil
}

// checkRoomName checks a room name: trimmed, 1 to NameMax characters, no
// control characters, and not taken by another room than except, compared
// case-insensitively.
func checkRoomName(ctx context.Context, db *ent.Client, v, field string, except int) (string, error) {
	v, err := messaging.CleanText(v, field, NameMax, false)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", apperr.Input(apperr.ReasonRequired, field, "a room needs a name")
	}
	taken, err := db.Room.Query().Where(entroom.NameEqualFold(v), entroom.IDNEQ(except)).Exist(ctx)
	switch {
	case err != nil:
		return "", fmt.Errorf("room: name: %w", err)
	case taken:
		return "", nameTaken(field)
	}
	return v, nil
}

func nameTaken(field string) error {
	return apperr.New(apperr.Conflict, ReasonNameTaken, field, "a room with this name exists")
}

// saveErr maps a lost race on the unique room name to ROOM_NAME_TAKEN.
func saveErr(err error, what string) error {
	if ent.IsConstraintError(err) {
		return nameTaken("input.name")
	}
	return fmt.Errorf("room: %s: %w", what, err)
}

// Input is a new room.
type Input struct {
	Name         string
	Detail       string
	AvatarFileID int
}

// Create creates a room owned by the viewer, who joins it at once.
// Its name is unique (ROOM_NAME_TAKEN).
func (s *Service) Create(ctx context.Context, in Input) (*ent.Room, error) {
	db, me, err := messaging.SignedInWriter(ctx)
	if err != nil {
		return nil, err
	}
	n, err := checkRoomName(ctx, db, in.Name, "input.name", 0)
	if err != nil {
		return nil, err
	}
	detail, err := messaging.CleanText(in.Detail, "input.detail", DetailMax, true)
	if err != nil {
		return nil, err
	}
	var avatar string
	if in.AvatarFileID != 0 {
		if avatar, err = s.avatars.Avatar(ctx, in.AvatarFileID, "input.avatarFileId"); err != nil {
			return nil, err
		}
	}
	conv, err := s.messaging.Open(ctx, conversation.KindRoom)
	if err != nil {
		return nil, err
	}
	r, err := db.Room.Create().SetName(n).SetDetail(detail).SetAvatar(avatar).
		SetOwnerID(me).SetConversationID(conv.ID).Save(ctx)
	if err != nil {
		return nil, saveErr(err, "create")
	}
	return r, s.enter(ctx, db, r, me)
}

// Patch changes a room; nil fields stay.
type Patch struct {
	Name, Detail *string
	AvatarFileID *int
	ClearAvatar  bool
}

// Update renames a room and changes its detail and avatar:
// its owner only. Watchers get room.updated.
func (s *Service) Update(ctx context.Context, id int, p Patch) (*ent.Room, error) {
	db, me, r, err := loadOwnedRoom(ctx, id)
	if err != nil {
		return nil, err
	}
	upd := r.Update()
	if p.Name != nil {
		n, err := checkRoomName(ctx, db, *p.Name, "input.name", r.ID)
		if err != nil {
			return nil, err
		}
		upd.SetName(n)
	}
	if p.Detail != nil {
		detail, err := messaging.CleanText(*p.Detail, "input.detail", DetailMax, true)
		if err != nil {
			return nil, err
		}
		upd.SetDetail(detail)
	}
	avatar, err := messaging.AvatarChange(ctx, s.avatars, p.AvatarFileID, p.ClearAvatar)
	if err != nil {
		return nil, err
	}
	upd.SetNillableAvatar(avatar)
	if r, err = upd.Save(ctx); err != nil {
		return nil, saveErr(err, "update")
	}
	return r, s.log.Append(ctx, eventlog.Record{Topic: eventlog.RoomTopic(r.ID), Kind: KindUpdated, Actor: me, Subject: r.ID})
}

// Delete deletes a room: its owner only. Its messages and
// memberships go with its conversation, in this transaction. Everyone
// watching it gets room.deleted, after which roomEvents ends; members'
// events streams get it too.
func (s *Service) Delete(ctx context.Context, id int) error {
	db, me, r, err := loadOwnedRoom(ctx, id)
	if err != nil {
		return err
	}
	if err := s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.ConversationTopic(r.ConversationID), Kind: KindDeleted, Actor: me, Subject: r.ID,
		Data: map[string]any{"roomId": r.ID, "name": r.Name, "action": "close"},
	}); err != nil {
		return err
	}
	if err := db.Room.DeleteOne(r).Exec(ctx); err != nil {
		return fmt.Errorf("room: delete: %w", err)
	}
	// Its online count's window (Announcer) is of no more use.
	if _, err := db.Throttle.Delete().Where(throttle.Key(onlineKey(r.ID))).Exec(viewer.SystemContext(ctx)); err != nil {
		return fmt.Errorf("room: delete: %w", err)
	}
	// The Room policy allowed the owner to delete the room; its
	// conversation (messages, memberships) goes with it.
	return s.messaging.Close(ctx, r.ConversationID)
}

// Join makes the viewer a member of a room, so that he may post in it and
// his events stream carries its messages. Watchers get room.joined
// with the new counts. Joining a room he is in already is a visit: a client
// opening a shared link joins without asking first, so it gets the room
// back, with no second membership and no event, as nothing changed.
func (s *Service) Join(ctx context.Context, id int) (*ent.Room, error) {
	db, me, r, in, err := s.standing(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case in:
		return r, nil
	}
	return r, s.enter(ctx, db, r, me)
}

// standing loads room id for a write by the signed-in viewer, and whether
// he is in it.
func (s *Service) standing(ctx context.Context, id int) (db *ent.Client, me int, r *ent.Room, in bool, err error) {
	if db, me, err = messaging.SignedInWriter(ctx); err != nil {
		return nil, 0, nil, false, err
	}
	if r, err = loadRoom(ctx, db, id); err != nil {
		return nil, 0, nil, false, err
	}
	in, err = s.isMember(ctx, db, r, me)
	return db, me, r, in, err
}

// enter makes uid a member of r and tells its watchers.
func (s *Service) enter(ctx context.Context, db *ent.Client, r *ent.Room, me int) error {
	if err := s.messaging.Join(ctx, r.ConversationID, me); err != nil {
		return err
	}
	return s.announce(ctx, db, r, me, KindJoined, "in")
}

// Leave takes the viewer out of a room; watchers get room.left with the
// new counts. The owner cannot leave (OWNER_CANNOT_LEAVE), as in groups: a
// room must not be owned by someone outside it; he deletes it instead.
func (s *Service) Leave(ctx context.Context, id int) (*ent.Room, error) {
	db, me, r, in, err := s.standing(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case !in:
		return nil, apperr.Deny(ReasonNotMember, "you are not in this room")
	case r.OwnerID == me:
		return nil, apperr.Deny(ReasonOwnerCannotLeave, "the owner cannot leave his room: delete it (deleteRoom)")
	}
	if err := s.messaging.Leave(ctx, r.ConversationID, me); err != nil {
		return nil, err
	}
	return r, s.announce(ctx, db, r, me, KindLeft, "out")
}

// announce tells the room's watchers that uid came in or went out, with the
// counts as they stand in this transaction. The subject is the user, so the
// event's node is his profile (username, avatar, as room clients expect).
func (s *Service) announce(ctx context.Context, db *ent.Client, r *ent.Room, uid int, kind, action string) error {
	online, err := s.onlineCount(ctx, db, r)
	if err != nil {
		return err
	}
	members, err := s.memberCount(ctx, db, r)
	if err != nil {
		return err
	}
	return s.log.Append(ctx, eventlog.Record{
		Topic: eventlog.RoomTopic(r.ID), Kind: kind, Actor: uid, Subject: uid,
		Data: map[string]any{"action": action, "userId": uid, "onlineCount": online, "memberCount": members},
	})
}

// isMember reports whether uid is an active member of r's conversation.
func (s *Service) isMember(ctx context.Context, db *ent.Client, r *ent.Room, uid int) (bool, error) {
	in, err := db.ConversationMember.Query().Where(
		conversationmember.ConversationID(r.ConversationID), rule.ActiveConversationMember(uid),
	).Exist(viewer.SystemContext(ctx))
	if err != nil {
		return false, fmt.Errorf("room: membership: %w", err)
	}
	return in, nil
}

// members selects r's active members; the counts of a public room are
// public, so callers count them as the system.
func members(db *ent.Client, r *ent.Room) *ent.ConversationMemberQuery {
	return db.ConversationMember.Query().Where(
		conversationmember.ConversationID(r.ConversationID), conversationmember.Active(true),
	)
}

// onlineCount counts the room's members who are online now: who hold a
// connection to any instance (a fresh presence row), in one query.
func (s *Service) onlineCount(ctx context.Context, db *ent.Client, r *ent.Room) (int, error) {
	since := time.Now().UTC().Add(-s.presence.TTL())
	n, err := members(db, r).Where(func(sel *sql.Selector) {
		t := sql.Table(presence.Table)
		sel.Where(sql.In(sel.C(conversationmember.FieldUserID),
			sql.Select(t.C(presence.FieldUserID)).From(t).Where(sql.GT(t.C(presence.FieldSeenAt), since))))
	}).Count(viewer.SystemContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("room: online count: %w", err)
	}
	return n, nil
}

// memberCount counts the room's members.
func (s *Service) memberCount(ctx context.Context, db *ent.Client, r *ent.Room) (int, error) {
	n, err := members(db, r).Count(viewer.SystemContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("room: member count: %w", err)
	}
	return n, nil
}

// OnlineCount is the room's live online count.
func (s *Service) OnlineCount(ctx context.Context, r *ent.Room) (int, error) {
	return s.onlineCount(ctx, s.reader(ctx), r)
}

// MemberCount is how many users joined the room.
func (s *Service) MemberCount(ctx context.Context, r *ent.Room) (int, error) {
	return s.memberCount(ctx, s.reader(ctx), r)
}

// Joined reports whether the viewer is in the room.
func (s *Service) Joined(ctx context.Context, r *ent.Room) (bool, error) {
	me := viewer.UserID(ctx)
	if me == 0 {
		return false, nil
	}
	return s.isMember(ctx, s.reader(ctx), r, me)
}

// URL is the room's address: the client route that opens it,
// "/rooms/<id>"; the API resolves it with room(id:).
func URL(r *ent.Room) string { return "/rooms/" + strconv.Itoa(r.ID) }

// Get returns a room by id or by name (exactly one of them), or nil. Rooms
// are public: no sign-in is needed.
func (s *Service) Get(ctx context.Context, id int, byName string) (*ent.Room, error) {
	q := s.reader(ctx).Room.Query()
	switch {
	case (id != 0) == (byName != ""):
		return nil, apperr.Input(ReasonTargetMissing, "id", "give id or name")
	case id != 0:
		q.Where(entroom.ID(id))
	default:
		q.Where(entroom.NameEqualFold(strings.TrimSpace(byName)))
	}
	r, err := q.First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return r, err
}

// List pages through the rooms by name, those whose name contains query
// when it is given.
func (s *Service) List(ctx context.Context, query string, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.RoomConnection, error) {
	query, err := apperr.SearchQuery(query, false)
	if err != nil {
		return nil, err
	}
	q := s.reader(ctx).Room.Query()
	if query != "" {
		q.Where(entroom.NameContainsFold(query))
	}
	return q.Paginate(ctx, after, first, before, last,
		ent.WithRoomOrder(&ent.RoomOrder{Direction: entgql.OrderDirectionAsc, Field: ent.RoomOrderFieldName}))
}

// Closes reports whether an event of kind on topic is the room's deletion,
// roomEvents' last event: room.deleted on its conversation's topic.
func Closes(r *ent.Room, kind, topic string) bool {
	return kind == KindDeleted && topic == eventlog.ConversationTopic(r.ConversationID)
}

// Topics are roomEvents' topics: the room's own and its conversation's.
func Topics(r *ent.Room) []string {
	return []string{eventlog.RoomTopic(r.ID), eventlog.ConversationTopic(r.ConversationID)}
}

// Kept selects roomEvents' kinds: joins, leaves, online counts, changes and
// the deletion, and the conversation's messages (with their edits and
// reactions) and typing; messaging's
// member.joined and member.left are left out, as room.joined and room.left
// say more.
func Kept(kind string) bool {
	switch kind {
	case KindJoined, KindLeft, KindOnline, KindUpdated, KindDeleted,
		messaging.KindMessageCreated, messaging.KindMessageRevoked, messaging.KindMessageDeleted, messaging.KindTyping,
		messaging.KindMessageEdited, messaging.KindMessageReacted:
		return true
	}
	return false
}

// Watch starts roomEvents for the signed-in viewer: it returns the room to
// follow, NOT_FOUND when there is none.
func (s *Service) Watch(ctx context.Context, id int) (*ent.Room, error) {
	if viewer.UserID(ctx) == 0 {
		return nil, apperr.SignIn()
	}
	r, err := s.Get(ctx, id, "")
	if err == nil && r == nil {
		err = apperr.Missing("room")
	}
	return r, err
}

// Following is roomEvents' guard once the stream runs: the room still
// exists, or its deletion is in the log already, ahead of the stream (its
// room.deleted goes on the conversation's topic, which the stream holds,
// and ends it). An event committed just before the deletion, such as a
// member's room.online, then still arrives, followed by room.deleted,
// instead of ending the stream with FORBIDDEN; only a room gone without
// its event does that.
func (s *Service) Following(ctx context.Context, r *ent.Room) error {
	err := s.Watching(ctx, r.ID)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.NotFound {
		return err
	}
	deleted, qerr := s.client.Event.Query().Where(
		event.Topic(eventlog.ConversationTopic(r.ConversationID)), event.Kind(KindDeleted),
	).Exist(viewer.SystemContext(ctx))
	switch {
	case qerr != nil:
		return fmt.Errorf("room: deletion: %w", qerr)
	case deleted:
		return nil
	}
	return err
}

// Watching is roomEvents' guard: the room still exists. A signed-in user
// may watch any room, as he may read its history; he joins to post.
func (s *Service) Watching(ctx context.Context, id int) error {
	ok, err := s.client.Room.Query().Where(entroom.ID(id)).Exist(ctx)
	switch {
	case err != nil:
		return err
	case !ok:
		return apperr.Missing("room")
	}
	return nil
}
