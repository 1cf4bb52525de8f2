-- Satisfaction survey campaigns (客户意见调查, CS-1 to CS-6). Items and levels are kept as
-- newline-separated names in campaign order (names hold no line breaks); ratings refer to them
-- by position.
CREATE TABLE survey_campaigns (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL,
    title TEXT NOT NULL,
    items TEXT NOT NULL,
    levels TEXT NOT NULL,
    satisfied_levels BIGINT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    publish_due_at BIGINT NOT NULL,
    planned_by_id TEXT NOT NULL,
    planned_by_name TEXT NOT NULL,
    planned_by_role TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    opinion_summary TEXT NOT NULL DEFAULT '',
    improvement_measures TEXT NOT NULL DEFAULT '',
    report_by_id TEXT,
    report_by_name TEXT,
    report_by_role TEXT,
    report_at BIGINT,
    publish_at BIGINT,
    published_by_id TEXT,
    published_by_name TEXT,
    published_by_role TEXT,
    publication_note TEXT NOT NULL DEFAULT '',
    improvement_progress TEXT NOT NULL DEFAULT ''
);

CREATE INDEX survey_campaigns_by_start ON survey_campaigns (property_id, start_at, id);
CREATE INDEX survey_campaigns_unpublished ON survey_campaigns (property_id, publish_due_at, id)
    WHERE publish_at IS NULL;

-- One form per household and campaign (CS-2): distributed, then returned once.
CREATE TABLE survey_forms (
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    property_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    distribute_at BIGINT NOT NULL,
    distributed_by_id TEXT NOT NULL,
    distributed_by_name TEXT NOT NULL,
    distributed_by_role TEXT NOT NULL,
    return_at BIGINT,
    collected_by_id TEXT,
    collected_by_name TEXT,
    collected_by_role TEXT,
    PRIMARY KEY (campaign_id, household_id)
);

-- A returned form's rating of one item: positions in the campaign's items and levels.
CREATE TABLE survey_ratings (
    campaign_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    item BIGINT NOT NULL,
    level BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, household_id, item),
    FOREIGN KEY (campaign_id, household_id) REFERENCES survey_forms (campaign_id, household_id)
);

-- Opinions (意见) and suggestions (建议) written on a returned form; item -1 is the service as
-- a whole.
CREATE TABLE survey_remarks (
    campaign_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    item BIGINT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (campaign_id, household_id, position),
    FOREIGN KEY (campaign_id, household_id) REFERENCES survey_forms (campaign_id, household_id)
);

-- Each hand-out of forms (CS-2): who, when, how many new forms; a request_id retry returns it.
CREATE TABLE survey_distributions (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns (id),
    newly_distributed BIGINT NOT NULL,
    distributed_by_id TEXT NOT NULL,
    distribute_at BIGINT NOT NULL
);
