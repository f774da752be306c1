-- The statements Parley runs for one history page, the load tool's
-- historyQuery (messages(conversationId, last: 50) with each message's
-- sender and quote, and the quote's sender), as traced with
-- `go run ./server/load -scenarios trace`: 4 statements. Authentication
-- runs none (the instance's session cache answers it; one statement at
-- most every PARLEY_SESSION_CACHE_TTL per session), and the conversation
-- is checked only when the page comes back empty, which this one never
-- does. The load tool's history scenario runs it with pgbench -M simple
-- (the id lists are substituted as text, as ent sends them: one parameter
-- per id) and these variables:
--   -D me=<the reader> -D conv=<conversation>
--   -D senders=<ids of the page's senders, comma-separated>
--   -D quotes=<ids of the page's quotes> -D quoteSenders=<their senders>
-- (-D sess=<the reader's session> is passed too, and unused since the cache.)
-- the page, as the viewer sees it (rule.VisibleMessage: his floor, not hidden for him)
SELECT "messages"."id", "messages"."created_at", "messages"."conversation_id", "messages"."sender_id", "messages"."seq", "messages"."kind", "messages"."type", "messages"."parts", "messages"."quote_id", "messages"."client_id", "messages"."revoked_at", "messages"."deleted_at" FROM "messages" WHERE ("messages"."conversation_id" = :conv AND "messages"."deleted_at" IS NULL) AND ((EXISTS (SELECT "floor_member"."id" FROM "conversation_members" AS "floor_member" WHERE "floor_member"."conversation_id" = "messages"."conversation_id" AND "floor_member"."user_id" = :me AND "floor_member"."active" AND "floor_member"."cleared_seq" < "messages"."seq") OR (EXISTS (SELECT "floor_room"."id" FROM "conversations" AS "floor_room" WHERE "floor_room"."id" = "messages"."conversation_id" AND "floor_room"."kind" = 'room') AND (NOT (EXISTS (SELECT "floor_reached"."id" FROM "conversation_members" AS "floor_reached" WHERE "floor_reached"."conversation_id" = "messages"."conversation_id" AND "floor_reached"."user_id" = :me AND "floor_reached"."cleared_seq" >= "messages"."seq"))))) AND (NOT ("messages"."id" IN (SELECT "message_hidden_for"."message_id" FROM "message_hidden_for" JOIN "users" AS "t1" ON "message_hidden_for"."user_id" = "t1"."id" WHERE "t1"."id" = :me)))) ORDER BY "messages"."seq" DESC, "messages"."id" DESC LIMIT 51;
-- senders, one query for the page
SELECT "users"."id", "users"."username", "users"."nickname", "users"."avatar" FROM "users" WHERE "users"."id" IN (:senders);
-- quotes, one query for the page (the same rule), then their senders
SELECT "messages"."id", "messages"."created_at", "messages"."conversation_id", "messages"."sender_id", "messages"."seq", "messages"."kind", "messages"."type", "messages"."parts", "messages"."quote_id", "messages"."client_id", "messages"."revoked_at", "messages"."deleted_at" FROM "messages" WHERE "messages"."id" IN (:quotes) AND ((EXISTS (SELECT "floor_member"."id" FROM "conversation_members" AS "floor_member" WHERE "floor_member"."conversation_id" = "messages"."conversation_id" AND "floor_member"."user_id" = :me AND "floor_member"."active" AND "floor_member"."cleared_seq" < "messages"."seq") OR (EXISTS (SELECT "floor_room"."id" FROM "conversations" AS "floor_room" WHERE "floor_room"."id" = "messages"."conversation_id" AND "floor_room"."kind" = 'room') AND (NOT (EXISTS (SELECT "floor_reached"."id" FROM "conversation_members" AS "floor_reached" WHERE "floor_reached"."conversation_id" = "messages"."conversation_id" AND "floor_reached"."user_id" = :me AND "floor_reached"."cleared_seq" >= "messages"."seq"))))) AND (NOT ("messages"."id" IN (SELECT "message_hidden_for"."message_id" FROM "message_hidden_for" JOIN "users" AS "t1" ON "message_hidden_for"."user_id" = "t1"."id" WHERE "t1"."id" = :me))));
SELECT "users"."id", "users"."username", "users"."nickname" FROM "users" WHERE "users"."id" IN (:quoteSenders);
