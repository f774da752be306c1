package rule_test

import (
	"context"
	"testing"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/projectinvite"
	"github.com/parley-im/parley/ent/projectmember"
	"github.com/parley-im/parley/ent/rule"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/dbtest"
)

// projectFixture is an annotation project written as the system, and a
// second project beside it that its people are strangers to.
//
// Project p is owned by owner; annotator and reader are its members with
// those roles (annotator joined on an invite he accepted). asReader and
// asAnnotator hold pending invites with those roles, refusedOne refused
// his. outsider owns project q, which nobody else is in.
//
// Each project has rows of every kind of content: a text, two entities,
// two relation types, a relation of the first type between the entities
// and a mention of the first entity in the text.
type projectFixture struct {
	c                                  *ent.Client
	owner, annotator, reader, outsider int
	asReader, asAnnotator, refusedOne  int
	p, q                               projectRows
	// members are p's membership rows by user id.
	members map[int]int
	// invites are p's invites by invitee id.
	invites map[int]int
	// qOwner is q's one membership row.
	qOwner int
}

// projectRows are one project's id and its content's.
type projectRows struct {
	project, text, entity, other, relationType, relation, mention int
	// unusedType is a relation type no relation has, which can be deleted.
	unusedType int
}

// newProjectFixture writes the projects of projectFixture on c.
func newProjectFixture(t *testing.T, c *ent.Client) projectFixture {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	f := projectFixture{c: c, members: map[int]int{}, invites: map[int]int{}}
	f.owner, f.annotator, f.reader = newUser(t, c, "owner"), newUser(t, c, "annotator"), newUser(t, c, "reader")
	f.asReader, f.asAnnotator, f.refusedOne = newUser(t, c, "invreader"), newUser(t, c, "invannot"), newUser(t, c, "refused")
	f.outsider = newUser(t, c, "outsider")

	content := func(projectID, creator int) projectRows {
		r := projectRows{project: projectID}
		r.text = c.Text.Create().SetProjectID(projectID).SetName("t").SetContent("Ada met Bob.").SetLength(12).
			SetCreatorID(creator).SaveX(sys).ID
		entity := func(name string) int {
			return c.Entity.Create().SetProjectID(projectID).SetName(name).SetNameKey(name).SetLabel("PER").
				SetCreatorID(creator).SaveX(sys).ID
		}
		r.entity, r.other = entity("ada"), entity("bob")
		r.relationType = c.RelationType.Create().SetProjectID(projectID).SetName("met").SetNameKey("met").
			SetCreatorID(creator).SaveX(sys).ID
		r.unusedType = c.RelationType.Create().SetProjectID(projectID).SetName("knows").SetNameKey("knows").
			SetCreatorID(creator).SaveX(sys).ID
		r.relation = c.Relation.Create().SetProjectID(projectID).SetTypeID(r.relationType).
			SetSourceID(r.entity).SetTargetID(r.other).SetCreatorID(creator).SaveX(sys).ID
		r.mention = c.Mention.Create().SetTextID(r.text).SetEntityID(r.entity).SetStart(0).SetEnd(3).
			SetCreatorID(creator).SaveX(sys).ID
		return r
	}

	p := c.Project.Create().SetName("p").SetNameKey("p").SetOwnerID(f.owner).SaveX(sys).ID
	member := func(uid int, role projectmember.Role) {
		f.members[uid] = c.ProjectMember.Create().SetProjectID(p).SetUserID(uid).SetRole(role).SaveX(sys).ID
	}
	invite := func(uid int, role projectinvite.Role, status projectinvite.Status) {
		f.invites[uid] = c.ProjectInvite.Create().SetProjectID(p).SetInviterID(f.owner).SetInviteeID(uid).
			SetRole(role).SetStatus(status).SaveX(sys).ID
	}
	member(f.owner, projectmember.RoleOwner)
	member(f.annotator, projectmember.RoleAnnotator)
	member(f.reader, projectmember.RoleViewer)
	invite(f.annotator, projectinvite.RoleAnnotator, projectinvite.StatusAccepted)
	invite(f.asReader, projectinvite.RoleViewer, projectinvite.StatusPending)
	invite(f.asAnnotator, projectinvite.RoleAnnotator, projectinvite.StatusPending)
	invite(f.refusedOne, projectinvite.RoleAnnotator, projectinvite.StatusRefused)
	f.p = content(p, f.annotator)

	q := c.Project.Create().SetName("q").SetNameKey("q").SetOwnerID(f.outsider).SaveX(sys).ID
	f.qOwner = c.ProjectMember.Create().SetProjectID(q).SetUserID(f.outsider).SetRole(projectmember.RoleOwner).SaveX(sys).ID
	f.q = content(q, f.outsider)
	return f
}

// TestProjectPolicy: a project is read by its members, of any role, and by
// those with a pending invite into it, not by those who refused theirs nor
// by strangers; a user creates projects he owns; the owner alone edits and
// deletes one.
func TestProjectPolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newProjectFixture(t, c)
		p, q := []int{f.p.project}, []int{f.q.project}
		runReads(t, readerOf(c.Project.Query, c.Project.Get), []int{f.p.project, f.q.project}, []readCase{
			{name: "the owner", v: signedIn(f.owner), want: p},
			{name: "an annotator", v: signedIn(f.annotator), want: p},
			{name: "a viewer-role member", v: signedIn(f.reader), want: p},
			{name: "a pending invitee as viewer", v: signedIn(f.asReader), want: p},
			{name: "a pending invitee as annotator", v: signedIn(f.asAnnotator), want: p},
			{name: "one who refused his invite", v: signedIn(f.refusedOne), want: nil},
			{name: "the owner of another project", v: signedIn(f.outsider), want: q},
			{name: "an anonymous request", v: anonymous, err: rule.ErrNoViewer},
		})

		rename := func(ctx context.Context, c *ent.Client) error {
			return c.Project.UpdateOneID(f.p.project).SetName("renamed").SetNameKey("renamed").Exec(ctx)
		}
		remove := func(ctx context.Context, c *ent.Client) error { return c.Project.DeleteOneID(f.p.project).Exec(ctx) }
		create := func(owner int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.Project.Create().SetName("new").SetNameKey("new").SetOwnerID(owner).Exec(ctx)
			}
		}
		runWrites(t, c, []writeCase{
			{name: "the owner edits", v: signedIn(f.owner), write: rename, want: allowed},
			{name: "an annotator edits not", v: signedIn(f.annotator), write: rename, want: hidden},
			{name: "a viewer-role member edits not", v: signedIn(f.reader), write: rename, want: hidden},
			{name: "a pending invitee edits not", v: signedIn(f.asAnnotator), write: rename, want: hidden},
			{name: "a stranger edits not", v: signedIn(f.outsider), write: rename, want: hidden},
			{name: "an admin who is not the owner edits not", v: asAdmin(f.outsider), write: rename, want: hidden},
			{name: "an anonymous request edits not", v: anonymous, write: rename, want: signIn},
			{name: "the owner deletes", v: signedIn(f.owner), write: remove, want: allowed},
			{name: "an annotator deletes not", v: signedIn(f.annotator), write: remove, want: hidden},
			{name: "a stranger deletes not", v: signedIn(f.outsider), write: remove, want: hidden},
			{name: "a user creates a project he owns", v: signedIn(f.reader), write: create(f.reader), want: allowed},
			{name: "a user creates none in another's name", v: signedIn(f.reader), write: create(f.owner), want: denied},
			{name: "an anonymous request creates none", v: anonymous, write: create(f.owner), want: signIn},
		})
	})
}

// TestProjectMemberPolicy: a project's members see each other's rows and
// nobody else does, invitees included; the owner adds anyone and alone
// changes roles; an invitee adds himself, once, with the role of his
// pending invite and no other; a member leaves by deleting his own row,
// and the owner removes anyone.
func TestProjectMemberPolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newProjectFixture(t, c)
		p := []int{f.members[f.owner], f.members[f.annotator], f.members[f.reader]}
		runReads(t, readerOf(c.ProjectMember.Query, c.ProjectMember.Get), append(p, f.qOwner), []readCase{
			{name: "the owner", v: signedIn(f.owner), want: p},
			{name: "an annotator", v: signedIn(f.annotator), want: p},
			{name: "a viewer-role member", v: signedIn(f.reader), want: p},
			{name: "a pending invitee", v: signedIn(f.asAnnotator), want: nil},
			{name: "the owner of another project", v: signedIn(f.outsider), want: []int{f.qOwner}},
			{name: "an anonymous request", v: anonymous, err: rule.ErrNoViewer},
		})

		add := func(uid int, role projectmember.Role) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				m := c.ProjectMember.Create().SetProjectID(f.p.project).SetUserID(uid)
				if role != "" {
					m.SetRole(role)
				}
				return m.Exec(ctx)
			}
		}
		setRole := func(uid int, role projectmember.Role) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.ProjectMember.UpdateOneID(f.members[uid]).SetRole(role).Exec(ctx)
			}
		}
		remove := func(uid int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.ProjectMember.DeleteOneID(f.members[uid]).Exec(ctx)
			}
		}
		invite := func(uid int, change func(*ent.ProjectInviteUpdateOne)) writeFunc {
			return func(ctx context.Context, c *ent.Client) error {
				u := c.ProjectInvite.UpdateOneID(f.invites[uid])
				change(u)
				return u.Exec(ctx)
			}
		}
		status := func(s projectinvite.Status) func(*ent.ProjectInviteUpdateOne) {
			return func(u *ent.ProjectInviteUpdateOne) { u.SetStatus(s) }
		}
		// As the domain accepts: the member row, then the invite's answer.
		accept := func(uid int, role projectmember.Role) writeFunc {
			return steps(add(uid, role), invite(uid, status(projectinvite.StatusAccepted)))
		}
		leave := func(uid int) writeFunc {
			return func(ctx context.Context, c *ent.Client) error {
				_, err := c.ProjectMember.Delete().Where(projectmember.UserID(uid)).Exec(ctx)
				return err
			}
		}
		runWrites(t, c, []writeCase{
			{name: "the owner adds anyone", v: signedIn(f.owner), write: add(f.outsider, projectmember.RoleAnnotator), want: allowed},
			{name: "the owner adds a viewer-role member", v: signedIn(f.owner), write: add(f.outsider, projectmember.RoleViewer), want: allowed},
			{name: "an annotator adds nobody", v: signedIn(f.annotator), write: add(f.outsider, projectmember.RoleAnnotator), want: denied},
			{name: "a viewer-role member adds nobody", v: signedIn(f.reader), write: add(f.outsider, projectmember.RoleViewer), want: denied},
			{name: "a stranger adds not himself", v: signedIn(f.outsider), write: add(f.outsider, projectmember.RoleViewer), want: denied},
			{name: "an anonymous request adds nobody", v: anonymous, write: add(f.outsider, projectmember.RoleViewer), want: signIn},

			{name: "an invitee adds himself with his role", v: signedIn(f.asReader), write: add(f.asReader, projectmember.RoleViewer), want: allowed},
			{name: "an invitee adds himself with his role, annotator", v: signedIn(f.asAnnotator), write: add(f.asAnnotator, projectmember.RoleAnnotator), want: allowed},
			{name: "an invitee accepts as the domain does", v: signedIn(f.asAnnotator), write: accept(f.asAnnotator, projectmember.RoleAnnotator), want: allowed},
			{name: "an invitee takes no higher role", v: signedIn(f.asReader), write: add(f.asReader, projectmember.RoleAnnotator), want: denied},
			{name: "an invitee takes not the default role over his own", v: signedIn(f.asReader), write: add(f.asReader, ""), want: denied},
			{name: "an invitee takes no owner role", v: signedIn(f.asAnnotator), write: add(f.asAnnotator, projectmember.RoleOwner), want: denied},
			{name: "an invitee takes no lower role either", v: signedIn(f.asAnnotator), write: add(f.asAnnotator, projectmember.RoleViewer), want: denied},
			{name: "an invitee adds nobody else", v: signedIn(f.asAnnotator), write: add(f.outsider, projectmember.RoleAnnotator), want: denied},
			{name: "a refused invite lets nobody in", v: signedIn(f.refusedOne), write: add(f.refusedOne, projectmember.RoleAnnotator), want: denied},
			{name: "an accepted invite lets him in once", v: signedIn(f.asAnnotator), write: steps(
				accept(f.asAnnotator, projectmember.RoleAnnotator), leave(f.asAnnotator), add(f.asAnnotator, projectmember.RoleAnnotator),
			), want: denied},

			{name: "the owner changes roles", v: signedIn(f.owner), write: setRole(f.annotator, projectmember.RoleViewer), want: allowed},
			{name: "the owner promotes a viewer-role member", v: signedIn(f.owner), write: setRole(f.reader, projectmember.RoleAnnotator), want: allowed},
			{name: "a member promotes not himself", v: signedIn(f.reader), write: setRole(f.reader, projectmember.RoleAnnotator), want: hidden},
			{name: "an annotator changes no one's role", v: signedIn(f.annotator), write: setRole(f.reader, projectmember.RoleAnnotator), want: hidden},
			{name: "a stranger changes no role", v: signedIn(f.outsider), write: setRole(f.reader, projectmember.RoleAnnotator), want: hidden},

			{name: "an annotator leaves", v: signedIn(f.annotator), write: remove(f.annotator), want: allowed},
			{name: "a viewer-role member leaves", v: signedIn(f.reader), write: remove(f.reader), want: allowed},
			{name: "the owner removes a member", v: signedIn(f.owner), write: remove(f.annotator), want: allowed},
			{name: "a member removes no one else", v: signedIn(f.annotator), write: remove(f.reader), want: hidden},
			{name: "a member removes not the owner", v: signedIn(f.annotator), write: remove(f.owner), want: hidden},
			{name: "a stranger removes nobody", v: signedIn(f.outsider), write: remove(f.reader), want: hidden},
			{name: "an anonymous request removes nobody", v: anonymous, write: remove(f.reader), want: signIn},

			// In the next three, the invite is out of the viewer's reach for
			// the change (hidden).
			{name: "an invitee raises not the role of his invite", v: signedIn(f.asReader), want: hidden, write: steps(
				invite(f.asReader, func(u *ent.ProjectInviteUpdateOne) { u.SetRole(projectinvite.RoleAnnotator) }),
				add(f.asReader, projectmember.RoleAnnotator))},
			{name: "an invitee reopens not the invite he refused", v: signedIn(f.refusedOne), want: hidden, write: steps(
				invite(f.refusedOne, status(projectinvite.StatusPending)), add(f.refusedOne, projectmember.RoleAnnotator))},
			{name: "a removed member comes not back on his old invite", v: signedIn(f.annotator), want: hidden, write: steps(
				by(f.owner, remove(f.annotator)), invite(f.annotator, status(projectinvite.StatusPending)), add(f.annotator, projectmember.RoleAnnotator))},
		})
	})
}

// TestProjectInvitePolicy: an invite is the business of its invitee and of
// the project's owner only: they read it and answer or withdraw it; other
// members and strangers neither see nor touch it; only the owner invites.
func TestProjectInvitePolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newProjectFixture(t, c)
		var all []int
		for _, id := range f.invites {
			all = append(all, id)
		}
		runReads(t, readerOf(c.ProjectInvite.Query, c.ProjectInvite.Get), all, []readCase{
			{name: "the owner reads every invite of his project", v: signedIn(f.owner), want: all},
			{name: "an invitee reads his own", v: signedIn(f.asReader), want: []int{f.invites[f.asReader]}},
			{name: "a member reads the invite he accepted", v: signedIn(f.annotator), want: []int{f.invites[f.annotator]}},
			{name: "one who refused reads his own", v: signedIn(f.refusedOne), want: []int{f.invites[f.refusedOne]}},
			{name: "a member reads no one else's", v: signedIn(f.reader), want: nil},
			{name: "a stranger reads none", v: signedIn(f.outsider), want: nil},
			{name: "an anonymous request reads none", v: anonymous, err: rule.ErrNoViewer},
		})

		invite := func(inviter, invitee int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.ProjectInvite.Create().SetProjectID(f.p.project).SetInviterID(inviter).SetInviteeID(invitee).Exec(ctx)
			}
		}
		answer := func(uid int, status projectinvite.Status) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.ProjectInvite.UpdateOneID(f.invites[uid]).SetStatus(status).Exec(ctx)
			}
		}
		withdraw := func(uid int) func(context.Context, *ent.Client) error {
			return func(ctx context.Context, c *ent.Client) error {
				return c.ProjectInvite.DeleteOneID(f.invites[uid]).Exec(ctx)
			}
		}
		runWrites(t, c, []writeCase{
			{name: "the owner invites", v: signedIn(f.owner), write: invite(f.owner, f.outsider), want: allowed},
			{name: "an annotator invites nobody", v: signedIn(f.annotator), write: invite(f.annotator, f.outsider), want: denied},
			{name: "a viewer-role member invites nobody", v: signedIn(f.reader), write: invite(f.reader, f.outsider), want: denied},
			{name: "a stranger invites not himself", v: signedIn(f.outsider), write: invite(f.outsider, f.outsider), want: denied},
			{name: "an anonymous request invites nobody", v: anonymous, write: invite(f.owner, f.outsider), want: signIn},

			{name: "the invitee accepts", v: signedIn(f.asReader), write: answer(f.asReader, projectinvite.StatusAccepted), want: allowed},
			{name: "the invitee refuses", v: signedIn(f.asAnnotator), write: answer(f.asAnnotator, projectinvite.StatusRefused), want: allowed},
			{name: "another invitee answers not for him", v: signedIn(f.asAnnotator), write: answer(f.asReader, projectinvite.StatusAccepted), want: hidden},
			{name: "a member answers for nobody", v: signedIn(f.annotator), write: answer(f.asReader, projectinvite.StatusRefused), want: hidden},
			{name: "a stranger answers for nobody", v: signedIn(f.outsider), write: answer(f.asReader, projectinvite.StatusAccepted), want: hidden},
			{name: "the owner withdraws an invite", v: signedIn(f.owner), write: withdraw(f.asReader), want: allowed},
			{name: "a member withdraws nothing", v: signedIn(f.reader), write: withdraw(f.asReader), want: hidden},
			{name: "a stranger withdraws nothing", v: signedIn(f.outsider), write: withdraw(f.asReader), want: hidden},
			{name: "an anonymous request answers nothing", v: anonymous, write: answer(f.asReader, projectinvite.StatusAccepted), want: signIn},
			{
				name: "the invitee changes not the role he was invited to", v: signedIn(f.asReader),
				write: func(ctx context.Context, c *ent.Client) error {
					return c.ProjectInvite.UpdateOneID(f.invites[f.asReader]).SetRole(projectinvite.RoleAnnotator).Exec(ctx)
				},
				want: hidden, // the invite is out of his reach for that change
			},
		})
	})
}

// contentKind is one kind of project content: how to read its rows, and
// to create, change and delete one, so that one table covers them all.
type contentKind struct {
	name string
	list func(ctx context.Context, c *ent.Client) ([]int, error)
	get  func(ctx context.Context, c *ent.Client, id int) error
	// row is the kind's row in a project of the fixture that the writes
	// aim at, rows all of them.
	row  func(r projectRows) int
	rows func(r projectRows) []int
	// create writes a new row into the project of r, by creator.
	create func(ctx context.Context, c *ent.Client, r projectRows, creator int) error
	// update changes the row; nil for a kind whose fields never change.
	update func(ctx context.Context, c *ent.Client, id int) error
	delete func(ctx context.Context, c *ent.Client, id int) error
}

// contentKinds are the Text, the Entity, the RelationType, the Relation and
// the Mention.
var contentKinds = []contentKind{
	{
		name: "text",
		list: func(ctx context.Context, c *ent.Client) ([]int, error) { return c.Text.Query().IDs(ctx) },
		get:  func(ctx context.Context, c *ent.Client, id int) error { _, err := c.Text.Get(ctx, id); return err },
		row:  func(r projectRows) int { return r.text },
		rows: func(r projectRows) []int { return []int{r.text} },
		create: func(ctx context.Context, c *ent.Client, r projectRows, creator int) error {
			return c.Text.Create().SetProjectID(r.project).SetName("new").SetContent("x").SetLength(1).SetCreatorID(creator).Exec(ctx)
		},
		update: func(ctx context.Context, c *ent.Client, id int) error {
			return c.Text.UpdateOneID(id).SetName("renamed").Exec(ctx)
		},
		delete: func(ctx context.Context, c *ent.Client, id int) error { return c.Text.DeleteOneID(id).Exec(ctx) },
	},
	{
		name: "entity",
		list: func(ctx context.Context, c *ent.Client) ([]int, error) { return c.Entity.Query().IDs(ctx) },
		get:  func(ctx context.Context, c *ent.Client, id int) error { _, err := c.Entity.Get(ctx, id); return err },
		row:  func(r projectRows) int { return r.entity },
		rows: func(r projectRows) []int { return []int{r.entity, r.other} },
		create: func(ctx context.Context, c *ent.Client, r projectRows, creator int) error {
			return c.Entity.Create().SetProjectID(r.project).SetName("new").SetNameKey("new").SetCreatorID(creator).Exec(ctx)
		},
		update: func(ctx context.Context, c *ent.Client, id int) error {
			return c.Entity.UpdateOneID(id).SetLabel("ORG").Exec(ctx)
		},
		delete: func(ctx context.Context, c *ent.Client, id int) error { return c.Entity.DeleteOneID(id).Exec(ctx) },
	},
	{
		name: "relation type",
		list: func(ctx context.Context, c *ent.Client) ([]int, error) { return c.RelationType.Query().IDs(ctx) },
		get: func(ctx context.Context, c *ent.Client, id int) error {
			_, err := c.RelationType.Get(ctx, id)
			return err
		},
		row:  func(r projectRows) int { return r.unusedType },
		rows: func(r projectRows) []int { return []int{r.relationType, r.unusedType} },
		create: func(ctx context.Context, c *ent.Client, r projectRows, creator int) error {
			return c.RelationType.Create().SetProjectID(r.project).SetName("new").SetNameKey("new").SetCreatorID(creator).Exec(ctx)
		},
		update: func(ctx context.Context, c *ent.Client, id int) error {
			return c.RelationType.UpdateOneID(id).SetSymmetric(true).Exec(ctx)
		},
		delete: func(ctx context.Context, c *ent.Client, id int) error {
			return c.RelationType.DeleteOneID(id).Exec(ctx)
		},
	},
	{
		name: "relation",
		list: func(ctx context.Context, c *ent.Client) ([]int, error) { return c.Relation.Query().IDs(ctx) },
		get:  func(ctx context.Context, c *ent.Client, id int) error { _, err := c.Relation.Get(ctx, id); return err },
		row:  func(r projectRows) int { return r.relation },
		rows: func(r projectRows) []int { return []int{r.relation} },
		create: func(ctx context.Context, c *ent.Client, r projectRows, creator int) error {
			return c.Relation.Create().SetProjectID(r.project).SetTypeID(r.relationType).
				SetSourceID(r.other).SetTargetID(r.entity).SetCreatorID(creator).Exec(ctx)
		},
		update: func(ctx context.Context, c *ent.Client, id int) error {
			rel, err := c.Relation.Get(viewer.SystemContext(ctx), id)
			if err != nil {
				return err
			}
			return c.Relation.UpdateOneID(id).SetTypeID(rel.TypeID).Exec(ctx)
		},
		delete: func(ctx context.Context, c *ent.Client, id int) error { return c.Relation.DeleteOneID(id).Exec(ctx) },
	},
	{
		name: "mention",
		list: func(ctx context.Context, c *ent.Client) ([]int, error) { return c.Mention.Query().IDs(ctx) },
		get:  func(ctx context.Context, c *ent.Client, id int) error { _, err := c.Mention.Get(ctx, id); return err },
		row:  func(r projectRows) int { return r.mention },
		rows: func(r projectRows) []int { return []int{r.mention} },
		create: func(ctx context.Context, c *ent.Client, r projectRows, creator int) error {
			return c.Mention.Create().SetTextID(r.text).SetEntityID(r.other).SetStart(8).SetEnd(11).SetCreatorID(creator).Exec(ctx)
		},
		delete: func(ctx context.Context, c *ent.Client, id int) error { return c.Mention.DeleteOneID(id).Exec(ctx) },
	},
}

// TestProjectContentPolicy: of every kind of content, a project's members
// of any role read its rows and no other project's; its owner and its
// annotators create, change and delete them, its viewer-role members do
// not; invitees and strangers neither read nor write them, and anonymous
// requests are refused.
func TestProjectContentPolicy(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newProjectFixture(t, c)
		admin := newUser(t, c, "admin")
		people := []struct {
			name             string
			v                *viewer.Viewer
			reads            []projectRows // the projects whose content he reads
			writesP, writesQ bool
		}{
			{name: "the owner", v: signedIn(f.owner), reads: []projectRows{f.p}, writesP: true},
			{name: "an annotator", v: signedIn(f.annotator), reads: []projectRows{f.p}, writesP: true},
			{name: "a viewer-role member", v: signedIn(f.reader), reads: []projectRows{f.p}},
			{name: "a pending invitee", v: signedIn(f.asAnnotator)},
			{name: "one who refused his invite", v: signedIn(f.refusedOne)},
			{name: "the owner of another project", v: signedIn(f.outsider), reads: []projectRows{f.q}, writesQ: true},
			{name: "an admin outside the project", v: asAdmin(admin)},
			{name: "an anonymous request", v: anonymous},
		}
		for _, k := range contentKinds {
			t.Run(k.name, func(t *testing.T) {
				var reads []readCase
				for _, who := range people {
					rc := readCase{name: who.name, v: who.v}
					for _, r := range who.reads {
						rc.want = append(rc.want, k.rows(r)...)
					}
					if who.v == nil {
						rc.err = rule.ErrNoViewer
					}
					reads = append(reads, rc)
				}
				runReads(t, reader{
					list: func(ctx context.Context) ([]int, error) { return k.list(ctx, c) },
					get:  func(ctx context.Context, id int) error { return k.get(ctx, c, id) },
				}, append(k.rows(f.p), k.rows(f.q)...), reads)

				var writes []writeCase
				for _, who := range people {
					uid := 0
					if who.v != nil {
						uid = who.v.UserID
					}
					for _, into := range []struct {
						where string
						r     projectRows
						may   bool
					}{{"", f.p, who.writesP}, {" in another project", f.q, who.writesQ}} {
						// A refused create is denied; a refused change finds
						// no row, the filter leaving it out of reach.
						create, change := denied, hidden
						switch {
						case into.may:
							create, change = allowed, allowed
						case who.v == nil:
							create, change = signIn, signIn
						}
						row := k.row(into.r)
						writes = append(writes,
							writeCase{name: who.name + " creates" + into.where, v: who.v, want: create,
								write: func(ctx context.Context, c *ent.Client) error { return k.create(ctx, c, into.r, uid) }},
							writeCase{name: who.name + " deletes" + into.where, v: who.v, want: change,
								write: func(ctx context.Context, c *ent.Client) error { return k.delete(ctx, c, row) }},
						)
						if k.update != nil {
							writes = append(writes, writeCase{name: who.name + " changes" + into.where, v: who.v, want: change,
								write: func(ctx context.Context, c *ent.Client) error { return k.update(ctx, c, row) }})
						}
					}
				}
				runWrites(t, c, writes)
			})
		}
	})
}

// TestProjectContentReferences: content written into a project refers only
// to rows of that project: a writer of p does not tie p's rows to the
// entities and relation types of q, which he cannot even read.
func TestProjectContentReferences(t *testing.T) {
	dbtest.EachClient(t, func(t *testing.T, c *ent.Client, sys context.Context) {
		f := newProjectFixture(t, c)
		runWrites(t, c, []writeCase{
			{name: "a relation in p between q's entities", v: signedIn(f.annotator), want: refused,
				write: func(ctx context.Context, c *ent.Client) error {
					return c.Relation.Create().SetProjectID(f.p.project).SetTypeID(f.p.relationType).
						SetSourceID(f.q.other).SetTargetID(f.q.entity).SetCreatorID(f.annotator).Exec(ctx)
				}},
			{name: "a relation in p of q's type", v: signedIn(f.annotator), want: refused,
				write: func(ctx context.Context, c *ent.Client) error {
					return c.Relation.Create().SetProjectID(f.p.project).SetTypeID(f.q.relationType).
						SetSourceID(f.p.other).SetTargetID(f.p.entity).SetCreatorID(f.annotator).Exec(ctx)
				}},
			{name: "a mention in p's text of q's entity", v: signedIn(f.annotator), want: refused,
				write: func(ctx context.Context, c *ent.Client) error {
					return c.Mention.Create().SetTextID(f.p.text).SetEntityID(f.q.entity).SetStart(0).SetEnd(3).
						SetCreatorID(f.annotator).Exec(ctx)
				}},
		})
	})
}
