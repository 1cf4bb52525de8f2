-- Follow-up visits (回访记录, VIS-1 to VIS-6).
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    household_id TEXT REFERENCES households (id),
    unit_id TEXT NOT NULL DEFAULT '',
    work_order_id TEXT NOT NULL DEFAULT '',
    customer_name TEXT NOT NULL,
    customer_phone TEXT NOT NULL,
    visit_at BIGINT NOT NULL,
    channel TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    visitor_name TEXT NOT NULL,
    visitor_role TEXT NOT NULL,
    content TEXT NOT NULL,
    satisfaction TEXT NOT NULL,
    -- VIS-2: a question not answered on the spot, the promised reply time and the reply.
    question TEXT NOT NULL DEFAULT '',
    reply_due_at BIGINT,
    reply_at BIGINT,
    reply TEXT NOT NULL DEFAULT '',
    replied_by_id TEXT,
    replied_by_name TEXT,
    replied_by_role TEXT,
    -- VIS-3: a major problem for the regular meeting of meeting_date (YYYY-MM-DD).
    major_problem TEXT NOT NULL DEFAULT '',
    meeting_date TEXT,
    settle_at BIGINT,
    settlement TEXT NOT NULL DEFAULT '',
    settled_by_id TEXT,
    settled_by_name TEXT,
    settled_by_role TEXT,
    -- VIS-6: the complaint the visit was raised as.
    complaint_id TEXT REFERENCES complaints (id),
    complaint_number BIGINT,
    create_at BIGINT NOT NULL
);

CREATE INDEX visits_by_time ON visits (property_id, visit_at, id);
CREATE INDEX visits_by_household ON visits (household_id, kind, visit_at);
CREATE INDEX visits_replies_open ON visits (property_id, reply_due_at, id)
    WHERE reply_at IS NULL AND reply_due_at IS NOT NULL;
CREATE INDEX visits_agenda ON visits (property_id, meeting_date, visit_at)
    WHERE meeting_date IS NOT NULL;

-- VIS-4: every repair completed in engineering (WorkOrderCompleted, for a unit), due for a
-- follow-up visit. The work order id is the key, so an event applied twice adds nothing.
CREATE TABLE repair_follow_ups (
    work_order_id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    unit_id TEXT NOT NULL,
    complete_at BIGINT NOT NULL,
    customer_rating BIGINT NOT NULL,
    contact_number BIGINT NOT NULL,
    event_seq BIGINT NOT NULL,
    receive_at BIGINT NOT NULL,
    visit_id TEXT REFERENCES visits (id),
    visit_at BIGINT
);

CREATE INDEX repair_follow_ups_by_completion ON repair_follow_ups (property_id, complete_at, work_order_id);
