// Package settings holds the system settings: feature
// toggles, the dirty-word list and a few strings clients show. They are rows
// of ent's Setting table, so every instance reads the same values; admins
// change them, and each toggle is enforced by the domain code it governs
// through Require, not only shown to clients.
package settings

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/setting"
	"github.com/parley-im/parley/ent/viewer"
	"github.com/parley-im/parley/internal/platform/apperr"
	"github.com/parley-im/parley/internal/platform/txn"
)

// ReasonFeatureDisabled is the reason of a request refused because an admin
// turned its feature off.
const ReasonFeatureDisabled = "FEATURE_DISABLED"

// Limits of the string settings.
const (
	StringMax     = 256
	DirtyWordMax  = 64
	DirtyWordsMax = 1000
)

// Settings is the whole set, as the settings query returns it. Field names
// match the GraphQL type SystemSettings, which gqlgen binds to this struct.
type Settings struct {
	AppName      string
	ExploreURL   string
	WebsocketURL string

	Voice, Audio, Video, PromptTone      bool
	GroupChat, PrivateChat, StrangerChat bool
	AddFriend, CreateGroup               bool
	UploadFile, UploadImage, Emoji       bool
	MemberDetail, Register               bool
	RegisterCaptcha, LoginCaptcha        bool
	QRFriend, QRGroup, QRScan            bool

	// DirtyWords are masked in message text; only admins read the list.
	DirtyWords []string
}

// Patch changes some settings; nil fields stay as they are. gqlgen binds the
// GraphQL input SettingsInput to it.
type Patch struct {
	AppName      *string
	ExploreURL   *string
	WebsocketURL *string

	Voice, Audio, Video, PromptTone      *bool
	GroupChat, PrivateChat, StrangerChat *bool
	AddFriend, CreateGroup               *bool
	UploadFile, UploadImage, Emoji       *bool
	MemberDetail, Register               *bool
	RegisterCaptcha, LoginCaptcha        *bool
	QRFriend, QRGroup, QRScan            *bool

	DirtyWords []string
}

// Toggle names one feature switch; its value is the key of its row.
type Toggle string

// The feature switches.
const (
	Voice           Toggle = "voice"
	Audio           Toggle = "audio"
	Video           Toggle = "video"
	PromptTone      Toggle = "prompt_tone"
	GroupChat       Toggle = "group_chat"
	PrivateChat     Toggle = "private_chat"
	StrangerChat    Toggle = "stranger_chat"
	AddFriend       Toggle = "add_friend"
	CreateGroup     Toggle = "create_group"
	UploadFile      Toggle = "upload_file"
	UploadImage     Toggle = "upload_image"
	Emoji           Toggle = "emoji"
	MemberDetail    Toggle = "member_detail"
	Register        Toggle = "register"
	RegisterCaptcha Toggle = "register_captcha"
	LoginCaptcha    Toggle = "login_captcha"
	QRFriend        Toggle = "qr_friend"
	QRGroup         Toggle = "qr_group"
	QRScan          Toggle = "qr_scan"
)

// toggle ties a switch to its default and to its fields in Settings and Patch.
type toggle struct {
	key   Toggle
	on    bool // the default: everything is on except the captchas
	value func(*Settings) *bool
	patch func(*Patch) *bool
}

var toggles = []toggle{
	{Voice, true, func(s *Settings) *bool { return &s.Voice }, func(p *Patch) *bool { return p.Voice }},
	{Audio, true, func(s *Settings) *bool { return &s.Audio }, func(p *Patch) *bool { return p.Audio }},
	{Video, true, func(s *Settings) *bool { return &s.Video }, func(p *Patch) *bool { return p.Video }},
	{PromptTone, true, func(s *Settings) *bool { return &s.PromptTone }, func(p *Patch) *bool { return p.PromptTone }},
	{GroupChat, true, func(s *Settings) *bool { return &s.GroupChat }, func(p *Patch) *bool { return p.GroupChat }},
	{PrivateChat, true, func(s *Settings) *bool { return &s.PrivateChat }, func(p *Patch) *bool { return p.PrivateChat }},
	{StrangerChat, true, func(s *Settings) *bool { return &s.StrangerChat }, func(p *Patch) *bool { return p.StrangerChat }},
	{AddFriend, true, func(s *Settings) *bool { return &s.AddFriend }, func(p *Patch) *bool { return p.AddFriend }},
	{CreateGroup, true, func(s *Settings) *bool { return &s.CreateGroup }, func(p *Patch) *bool { return p.CreateGroup }},
	{UploadFile, true, func(s *Settings) *bool { return &s.UploadFile }, func(p *Patch) *bool { return p.UploadFile }},
	{UploadImage, true, func(s *Settings) *bool { return &s.UploadImage }, func(p *Patch) *bool { return p.UploadImage }},
	{Emoji, true, func(s *Settings) *bool { return &s.Emoji }, func(p *Patch) *bool { return p.Emoji }},
	{MemberDetail, true, func(s *Settings) *bool { return &s.MemberDetail }, func(p *Patch) *bool { return p.MemberDetail }},
	{Register, true, func(s *Settings) *bool { return &s.Register }, func(p *Patch) *bool { return p.Register }},
	{RegisterCaptcha, false, func(s *Settings) *bool { return &s.RegisterCaptcha }, func(p *Patch) *bool { return p.RegisterCaptcha }},
	{LoginCaptcha, false, func(s *Settings) *bool { return &s.LoginCaptcha }, func(p *Patch) *bool { return p.LoginCaptcha }},
	{QRFriend, true, func(s *Settings) *bool { return &s.QRFriend }, func(p *Patch) *bool { return p.QRFriend }},
	{QRGroup, true, func(s *Settings) *bool { return &s.QRGroup }, func(p *Patch) *bool { return p.QRGroup }},
	{QRScan, true, func(s *Settings) *bool { return &s.QRScan }, func(p *Patch) *bool { return p.QRScan }},
}

// text ties a string setting to its fields.
type text struct {
	key   string
	def   string
	value func(*Settings) *string
	patch func(*Patch) *string
}

var texts = []text{
	{"app_name", "Parley", func(s *Settings) *string { return &s.AppName }, func(p *Patch) *string { return p.AppName }},
	{"explore_url", "", func(s *Settings) *string { return &s.ExploreURL }, func(p *Patch) *string { return p.ExploreURL }},
	{"websocket_url", "", func(s *Settings) *string { return &s.WebsocketURL }, func(p *Patch) *string { return p.WebsocketURL }},
}

// keyDirtyWords holds the dirty words, one per line; it is not public.
const keyDirtyWords = "dirty_words"

// db is the request's transaction when there is one, so that a check and the
// change it guards read the same snapshot.
func db(ctx context.Context, root *ent.Client) *ent.Client { return txn.Reader(ctx, root) }

// Service reads and writes the settings.
type Service struct{ client *ent.Client }

// NewService returns the settings service.
func NewService(client *ent.Client) *Service { return &Service{client: client} }

// Get returns every setting, defaults filled in. It reads as the system:
// enforcement must see the private rows too; the GraphQL layer hides the
// dirty words from non-admins.
//
// In a transaction (every mutation runs in one) the table is read once and
// the result kept until the transaction ends or Update changes it, so the
// checks of one request read it once and agree with each other.
func (s *Service) Get(ctx context.Context) (*Settings, error) {
	tx := memoTx(ctx)
	if tx != nil {
		if set, ok := recall(tx); ok {
			return set, nil
		}
	}
	set, err := s.load(ctx)
	if err == nil && tx != nil {
		remember(tx, set)
	}
	return set, err
}

// load reads every setting from the table.
func (s *Service) load(ctx context.Context) (*Settings, error) {
	rows, err := db(ctx, s.client).Setting.Query().All(viewer.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("settings: load: %w", err)
	}
	stored := make(map[string]string, len(rows))
	for _, r := range rows {
		stored[r.Key] = r.Value
	}
	out := &Settings{}
	for _, t := range toggles {
		*t.value(out) = t.on
		if v, ok := stored[string(t.key)]; ok {
			if b, err := strconv.ParseBool(v); err == nil {
				*t.value(out) = b
			}
		}
	}
	for _, t := range texts {
		*t.value(out) = t.def
		if v, ok := stored[t.key]; ok {
			*t.value(out) = v
		}
	}
	out.DirtyWords = splitWords(stored[keyDirtyWords])
	return out, nil
}

// Enabled reports whether a feature is on.
func (s *Service) Enabled(ctx context.Context, t Toggle) (bool, error) {
	all, err := s.Get(ctx)
	if err != nil {
		return false, err
	}
	for _, d := range toggles {
		if d.key == t {
			return *d.value(all), nil
		}
	}
	return false, fmt.Errorf("settings: unknown toggle %q", t)
}

// Require refuses the request with FORBIDDEN / FEATURE_DISABLED when the
// feature is off. Admins are not exempt: a switched-off feature is off.
func (s *Service) Require(ctx context.Context, t Toggle) error {
	on, err := s.Enabled(ctx, t)
	switch {
	case err != nil:
		return err
	case !on:
		return apperr.Deny(ReasonFeatureDisabled, "%s is turned off on this server", strings.ReplaceAll(string(t), "_", " "))
	}
	return nil
}

// Update applies p as the viewer; the Setting policy lets only admins write.
// The policy is asked first, before p is validated, so that a non-admin gets
// FORBIDDEN and learns nothing of the limits.
func (s *Service) Update(ctx context.Context, p Patch) (*Settings, error) {
	c := db(ctx, s.client)
	if setting.Policy != nil { // nil only without ent/runtime, when nothing is enforced
		if err := setting.Policy.EvalMutation(ctx, c.Setting.Create().Mutation()); err != nil {
			return nil, fmt.Errorf("settings: update: %w", err)
		}
	}
	defer forget(ctx) // however it ends, the writes change what the transaction reads
	set := func(key, value string, public bool) error {
		return c.Setting.Create().SetKey(key).SetValue(value).SetPublic(public).
			OnConflictColumns(setting.FieldKey).UpdateValue().Exec(ctx)
	}
	for _, t := range texts {
		v := t.patch(&p)
		if v == nil {
			continue
		}
		if utf8.RuneCountInString(*v) > StringMax {
			return nil, apperr.Input(apperr.ReasonTooLong, "input."+camel(t.key), "%s is longer than %d characters", t.key, StringMax)
		}
		if err := set(t.key, strings.TrimSpace(*v), true); err != nil {
			return nil, fmt.Errorf("settings: update %s: %w", t.key, err)
		}
	}
	for _, t := range toggles {
		if v := t.patch(&p); v != nil {
			if err := set(string(t.key), strconv.FormatBool(*v), true); err != nil {
				return nil, fmt.Errorf("settings: update %s: %w", t.key, err)
			}
		}
	}
	if p.DirtyWords != nil {
		words, err := cleanWords(p.DirtyWords)
		if err != nil {
			return nil, err
		}
		if err := set(keyDirtyWords, strings.Join(words, "\n"), false); err != nil {
			return nil, fmt.Errorf("settings: update dirty words: %w", err)
		}
	}
	return s.load(ctx)
}

// Mask replaces every dirty word in text by asterisks, one per character,
// matching case-insensitively.
func (s *Service) Mask(ctx context.Context, text string) (string, error) {
	all, err := s.Get(ctx)
	if err != nil {
		return "", err
	}
	return MaskWords(text, all.DirtyWords), nil
}

// MaskWords masks words in text (see Mask).
func MaskWords(text string, words []string) string {
	if len(words) == 0 || text == "" {
		return text
	}
	lower := strings.ToLower(text)
	runes := []rune(text)
	mask := make([]bool, len(runes))
	// Work on rune offsets: lowercasing keeps the rune count for the scripts
	// dirty-word lists use.
	lr := []rune(lower)
	if len(lr) != len(runes) {
		return text
	}
	for _, w := range words {
		wr := []rune(strings.ToLower(w))
		if len(wr) == 0 {
			continue
		}
		for i := 0; i+len(wr) <= len(lr); i++ {
			if string(lr[i:i+len(wr)]) == string(wr) {
				for j := i; j < i+len(wr); j++ {
					mask[j] = true
				}
			}
		}
	}
	for i, m := range mask {
		if m {
			runes[i] = '*'
		}
	}
	return string(runes)
}

func cleanWords(in []string) ([]string, error) {
	if len(in) > DirtyWordsMax {
		return nil, apperr.Input(apperr.ReasonTooLong, "input.dirtyWords", "at most %d dirty words", DirtyWordsMax)
	}
	seen := map[string]bool{}
	var out []string
	for _, w := range in {
		w = strings.TrimSpace(w)
		switch {
		case w == "" || seen[strings.ToLower(w)]:
			continue
		case strings.ContainsAny(w, "\n\r"):
			return nil, apperr.Input(apperr.ReasonInvalid, "input.dirtyWords", "a dirty word cannot contain a line break")
		case utf8.RuneCountInString(w) > DirtyWordMax:
			return nil, apperr.Input(apperr.ReasonTooLong, "input.dirtyWords", "a dirty word is longer than %d characters", DirtyWordMax)
		}
		seen[strings.ToLower(w)] = true
		out = append(out, w)
	}
	return out, nil
}

func splitWords(v string) []string {
	out := []string{}
	for _, w := range strings.Split(v, "\n") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// camel turns a snake_case key into its GraphQL input field name.
func camel(key string) string {
	parts := strings.Split(key, "_")
	for i := 1; i < len(parts); i++ {
		switch parts[i] {
		case "url":
			parts[i] = "Url"
		default:
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
