-- The staff directory: people and their posts. Instants are BIGINT microseconds since the
-- epoch, UTC.

-- A person of the company. The phone is personal data, sealed at rest in `phone_sealed`
-- (bound to the person's row). `sign_in` is NULL for a person who does not sign in, so the
-- uniqueness holds only among those who do.
CREATE TABLE people (
    person_id TEXT PRIMARY KEY,
    staff_number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    phone_sealed BYTEA,
    status TEXT NOT NULL,
    sign_in TEXT UNIQUE,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    leave_at BIGINT
);

-- A post: a role at a property, or at headquarters (property_id ''). Never deleted: an ended
-- post keeps its end_at.
CREATE TABLE posts (
    post_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (person_id),
    role TEXT NOT NULL,
    property_id TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT
);
CREATE INDEX posts_of_person ON posts (person_id);
-- The same role at the same place is held once at a time, also when two calls race.
CREATE UNIQUE INDEX posts_held_once ON posts (person_id, role, property_id) WHERE end_at IS NULL;
CREATE INDEX posts_at_property ON posts (property_id, role) WHERE end_at IS NULL;
