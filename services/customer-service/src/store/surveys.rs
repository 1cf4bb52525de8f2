//! Satisfaction surveys: campaigns, the forms handed out and returned, their answers.

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use super::decode;
use crate::domain::{
    surveys::{Campaign, Form, Publication, Remark, RemarkKind},
    units,
};

const COLUMNS: &str = "id, property_id, title, items, levels, satisfied_levels, start_at, end_at, \
    publish_due_at, planned_by_id, planned_by_name, planned_by_role, create_at, opinion_summary, \
    improvement_measures, report_by_id, report_by_name, report_by_role, report_at, publish_at, \
    published_by_id, published_by_name, published_by_role, publication_note, improvement_progress";

fn actor(row: &AnyRow, prefix: &str) -> Result<Actor> {
    Ok(Actor {
        user_id: row.try_get(format!("{prefix}_id").as_str())?,
        name: row.try_get(format!("{prefix}_name").as_str())?,
        role: row.try_get(format!("{prefix}_role").as_str())?,
    })
}

fn optional_actor(row: &AnyRow, prefix: &str) -> Result<Option<Actor>> {
    let id: Option<String> = row.try_get(format!("{prefix}_id").as_str())?;
    match id {
        Some(_) => Ok(Some(Actor {
            user_id: row
                .try_get::<Option<String>, _>(format!("{prefix}_id").as_str())?
                .unwrap_or_default(),
            name: row
                .try_get::<Option<String>, _>(format!("{prefix}_name").as_str())?
                .unwrap_or_default(),
            role: row
                .try_get::<Option<String>, _>(format!("{prefix}_role").as_str())?
                .unwrap_or_default(),
        })),
        None => Ok(None),
    }
}

fn lines(text: String) -> Vec<String> {
    text.split('\n').map(str::to_owned).collect()
}

fn from_row(row: &AnyRow) -> Result<Campaign> {
    let report = match (
        optional_actor(row, "report_by")?,
        row.try_get::<Option<i64>, _>("report_at")?,
    ) {
        (Some(a), Some(at)) => Some((a, from_micros(at))),
        _ => None,
    };
    let publication = match (
        optional_actor(row, "published_by")?,
        row.try_get::<Option<i64>, _>("publish_at")?,
    ) {
        (Some(by), Some(at)) => Some(Publication {
            at: from_micros(at),
            by,
            note: row.try_get("publication_note")?,
            improvement_progress: row.try_get("improvement_progress")?,
        }),
        _ => None,
    };
    Ok(Campaign {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        title: row.try_get("title")?,
        items: lines(row.try_get("items")?),
        levels: lines(row.try_get("levels")?),
        satisfied_levels: row.try_get::<i64, _>("satisfied_levels")? as usize,
        start_at: from_micros(row.try_get("start_at")?),
        end_at: from_micros(row.try_get("end_at")?),
        publish_due_at: from_micros(row.try_get("publish_due_at")?),
        planned_by: actor(row, "planned_by")?,
        created_at: from_micros(row.try_get("create_at")?),
        opinion_summary: row.try_get("opinion_summary")?,
        improvement_measures: row.try_get("improvement_measures")?,
        report,
        publication,
    })
}

/// Inserts a planned campaign (CS-1).
pub async fn insert(tx: &mut Tx, c: &Campaign) -> Result<()> {
    sqlx::query(
        "INSERT INTO survey_campaigns (id, property_id, title, items, levels, satisfied_levels, \
         start_at, end_at, publish_due_at, planned_by_id, planned_by_name, planned_by_role, create_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&c.id)
    .bind(&c.property_id)
    .bind(&c.title)
    .bind(c.items.join("\n"))
    .bind(c.levels.join("\n"))
    .bind(c.satisfied_levels as i64)
    .bind(to_micros(c.start_at))
    .bind(to_micros(c.end_at))
    .bind(to_micros(c.publish_due_at))
    .bind(&c.planned_by.user_id)
    .bind(&c.planned_by.name)
    .bind(&c.planned_by.role)
    .bind(to_micros(c.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, property_id: &str, id: &str) -> Result<Option<Campaign>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM survey_campaigns WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Campaigns newest start first, after the page key (start, id).
pub async fn list(
    db: &Db,
    property_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Campaign>> {
    let (start, id) = before.unwrap_or((i64::MAX, String::new()));
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM survey_campaigns WHERE property_id = $1 \
         AND (start_at < $2 OR (start_at = $2 AND ($3 = '' OR id < $3))) \
         ORDER BY start_at DESC, id DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(start)
        .bind(id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// The campaigns running at some time in [from, to), oldest start first.
pub async fn running_in(
    db: &Db,
    property_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Campaign>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM survey_campaigns WHERE property_id = $1 AND start_at < $2 \
         AND end_at > $3 ORDER BY start_at, id"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(to))
        .bind(to_micros(from))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// The start of the property's latest campaign (CS-1).
pub async fn latest_start(db: &Db, property_id: &str) -> Result<Option<DateTime<Utc>>> {
    let (latest,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(start_at) FROM survey_campaigns WHERE property_id = $1")
            .bind(property_id)
            .fetch_one(db.pool())
            .await?;
    Ok(latest.map(from_micros))
}

/// Campaigns unpublished past their deadline (CS-5), oldest deadline first, after the page
/// key (deadline, id).
pub async fn list_overdue(
    db: &Db,
    property_id: &str,
    now: DateTime<Utc>,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Campaign>> {
    let (due, id) = after.unwrap_or((i64::MIN, String::new()));
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM survey_campaigns WHERE property_id = $1 AND publish_at IS NULL \
         AND publish_due_at < $2 AND (publish_due_at > $3 OR (publish_due_at = $3 AND id > $4)) \
         ORDER BY publish_due_at, id LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(to_micros(now))
        .bind(due)
        .bind(id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

// --- Forms (CS-2) ---------------------------------------------------------------------------

const HAND_OUT: &str = "INSERT INTO survey_forms (campaign_id, household_id, property_id, unit_id, \
    distribute_at, distributed_by_id, distributed_by_name, distributed_by_role) \
    SELECT $1, h.id, h.property_id, h.unit_id, $3, $4, $5, $6 FROM households h \
    WHERE h.property_id = $2 AND h.state = 'living'";

/// Hands a form to each living household of the campaign's property without one; returns how
/// many were handed out. `household_id` names the one household to hand a form to.
pub async fn hand_out(
    tx: &mut Tx,
    campaign: &Campaign,
    household_id: Option<&str>,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<i64> {
    let one = if household_id.is_some() {
        " AND h.id = $7"
    } else {
        ""
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "{HAND_OUT}{one} ON CONFLICT (campaign_id, household_id) DO NOTHING"
    ));
    let mut query = sqlx::query(sql)
        .bind(&campaign.id)
        .bind(&campaign.property_id)
        .bind(to_micros(now))
        .bind(&by.user_id)
        .bind(&by.name)
        .bind(&by.role);
    if let Some(id) = household_id {
        query = query.bind(id);
    }
    Ok(query.execute(&mut **tx).await?.rows_affected() as i64)
}

/// Whether the household lives in the property.
pub async fn is_living(tx: &mut Tx, property_id: &str, household_id: &str) -> Result<bool> {
    let living: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM households WHERE property_id = $1 AND id = $2 AND state = 'living'",
    )
    .bind(property_id)
    .bind(household_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(living.is_some())
}

/// Records a hand-out of `newly` forms under its id (the request id's record).
pub async fn insert_distribution(
    tx: &mut Tx,
    id: &str,
    campaign_id: &str,
    newly: i64,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO survey_distributions (id, campaign_id, newly_distributed, distributed_by_id, distribute_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(campaign_id)
    .bind(newly)
    .bind(&by.user_id)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The forms a recorded hand-out handed out.
pub async fn distribution(tx: &mut Tx, id: &str) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT newly_distributed FROM survey_distributions WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n)
}

/// The forms of the campaign handed out in all.
pub async fn form_count(tx: &mut Tx, campaign_id: &str) -> Result<i64> {
    let (total,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM survey_forms WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(total)
}

/// Marks the household's form returned, only if it was not: of two answers racing one changes
/// the row.
pub async fn mark_returned(
    tx: &mut Tx,
    campaign_id: &str,
    household_id: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE survey_forms SET return_at = $3, collected_by_id = $4, collected_by_name = $5, \
         collected_by_role = $6 WHERE campaign_id = $1 AND household_id = $2 AND return_at IS NULL",
    )
    .bind(campaign_id)
    .bind(household_id)
    .bind(to_micros(now))
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Whether the household was given a form of the campaign.
pub async fn form_exists(tx: &mut Tx, campaign_id: &str, household_id: &str) -> Result<bool> {
    let exists: Option<(i64,)> = sqlx::query_as(
        "SELECT distribute_at FROM survey_forms WHERE campaign_id = $1 AND household_id = $2",
    )
    .bind(campaign_id)
    .bind(household_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(exists.is_some())
}

/// Inserts a returned form's ratings and remarks.
pub async fn insert_answers(
    tx: &mut Tx,
    campaign_id: &str,
    household_id: &str,
    ratings: &[(usize, usize)],
    remarks: &[Remark],
) -> Result<()> {
    for &(item, level) in ratings {
        sqlx::query(
            "INSERT INTO survey_ratings (campaign_id, household_id, item, level) VALUES ($1, $2, $3, $4)",
        )
        .bind(campaign_id)
        .bind(household_id)
        .bind(item as i64)
        .bind(level as i64)
        .execute(&mut **tx)
        .await?;
    }
    for (position, r) in remarks.iter().enumerate() {
        sqlx::query(
            "INSERT INTO survey_remarks (campaign_id, household_id, position, item, kind, text) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(campaign_id)
        .bind(household_id)
        .bind(position as i64)
        .bind(r.item.map_or(-1, |i| i as i64))
        .bind(r.kind.code())
        .bind(&r.text)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

const FORM: &str = "SELECT f.campaign_id, f.household_id, f.unit_id, f.distribute_at, \
    f.distributed_by_id, f.distributed_by_name, f.distributed_by_role, f.return_at, \
    f.collected_by_id, f.collected_by_name, f.collected_by_role, u.building, u.entrance, u.room \
    FROM survey_forms f JOIN units u ON u.id = f.unit_id";

fn form_from_row(row: &AnyRow) -> Result<Form> {
    let returned = match (
        row.try_get::<Option<i64>, _>("return_at")?,
        optional_actor(row, "collected_by")?,
    ) {
        (Some(at), Some(by)) => Some((from_micros(at), by)),
        _ => None,
    };
    Ok(Form {
        campaign_id: row.try_get("campaign_id")?,
        household_id: row.try_get("household_id")?,
        unit_id: row.try_get("unit_id")?,
        unit_label: units::label(
            &row.try_get::<String, _>("building")?,
            &row.try_get::<String, _>("entrance")?,
            &row.try_get::<String, _>("room")?,
        ),
        distributed_at: from_micros(row.try_get("distribute_at")?),
        distributed_by: actor(row, "distributed_by")?,
        returned,
        ratings: Vec::new(),
        remarks: Vec::new(),
    })
}

/// Fills in the ratings and remarks of `forms`, which are ordered by household id.
async fn answers(db: &Db, campaign_id: &str, forms: &mut [Form]) -> Result<()> {
    let (Some(first), Some(last)) = (forms.first(), forms.last()) else {
        return Ok(());
    };
    let (first, last) = (first.household_id.clone(), last.household_id.clone());
    let ratings = sqlx::query(
        "SELECT household_id, item, level FROM survey_ratings WHERE campaign_id = $1 \
         AND household_id >= $2 AND household_id <= $3 ORDER BY household_id, item",
    )
    .bind(campaign_id)
    .bind(&first)
    .bind(&last)
    .fetch_all(db.pool())
    .await?;
    let remarks = sqlx::query(
        "SELECT household_id, item, kind, text FROM survey_remarks WHERE campaign_id = $1 \
         AND household_id >= $2 AND household_id <= $3 ORDER BY household_id, position",
    )
    .bind(campaign_id)
    .bind(&first)
    .bind(&last)
    .fetch_all(db.pool())
    .await?;
    let index = |forms: &[Form], id: &str| {
        forms
            .binary_search_by(|f| f.household_id.as_str().cmp(id))
            .ok()
    };
    for r in &ratings {
        let id: String = r.try_get("household_id")?;
        if let Some(i) = index(forms, &id) {
            forms[i].ratings.push((
                r.try_get::<i64, _>("item")? as usize,
                r.try_get::<i64, _>("level")? as usize,
            ));
        }
    }
    for r in &remarks {
        let id: String = r.try_get("household_id")?;
        if let Some(i) = index(forms, &id) {
            forms[i].remarks.push(remark_from_row(r)?);
        }
    }
    Ok(())
}

fn remark_from_row(r: &AnyRow) -> Result<Remark> {
    let item: i64 = r.try_get("item")?;
    Ok(Remark {
        item: usize::try_from(item).ok(),
        kind: decode(r.try_get("kind")?, RemarkKind::from_code, "remark kind")?,
        text: r.try_get("text")?,
    })
}

pub async fn get_form(db: &Db, campaign_id: &str, household_id: &str) -> Result<Option<Form>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{FORM} WHERE f.campaign_id = $1 AND f.household_id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(campaign_id)
        .bind(household_id)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut forms = [form_from_row(&row)?];
    answers(db, campaign_id, &mut forms).await?;
    let [form] = forms;
    Ok(Some(form))
}

/// Forms of a campaign by household id, after `after`.
pub async fn list_forms(
    db: &Db,
    campaign_id: &str,
    outstanding_only: bool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Form>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{FORM} WHERE f.campaign_id = $1 AND ($2 = 0 OR f.return_at IS NULL) AND f.household_id > $3 \
         ORDER BY f.household_id LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(campaign_id)
        .bind(i64::from(outstanding_only))
        .bind(after.unwrap_or_default())
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let mut forms = rows.iter().map(form_from_row).collect::<Result<Vec<_>>>()?;
    answers(db, campaign_id, &mut forms).await?;
    Ok(forms)
}

/// What CS-4 counts: forms distributed, returned, and ratings per (item, level).
pub async fn counts(db: &Db, campaign_id: &str) -> Result<(i64, i64, Vec<(usize, usize, i64)>)> {
    let (distributed, returned): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(return_at) FROM survey_forms WHERE campaign_id = $1",
    )
    .bind(campaign_id)
    .fetch_one(db.pool())
    .await?;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT item, level, COUNT(*) FROM survey_ratings WHERE campaign_id = $1 GROUP BY item, level",
    )
    .bind(campaign_id)
    .fetch_all(db.pool())
    .await?;
    let counts = rows
        .into_iter()
        .map(|(item, level, n)| (item as usize, level as usize, n))
        .collect();
    Ok((distributed, returned, counts))
}

/// Every remark of the campaign's returned forms, by household and position.
pub async fn remarks(db: &Db, campaign_id: &str) -> Result<Vec<Remark>> {
    let rows = sqlx::query(
        "SELECT household_id, item, kind, text FROM survey_remarks WHERE campaign_id = $1 \
         ORDER BY household_id, position",
    )
    .bind(campaign_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(remark_from_row).collect()
}

/// The project manager's part of the report (CS-4), while unpublished.
pub async fn record_report(
    db: &Db,
    property_id: &str,
    id: &str,
    summary: &str,
    measures: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE survey_campaigns SET opinion_summary = $3, improvement_measures = $4, \
         report_by_id = $5, report_by_name = $6, report_by_role = $7, report_at = $8 \
         WHERE property_id = $1 AND id = $2 AND publish_at IS NULL",
    )
    .bind(property_id)
    .bind(id)
    .bind(summary)
    .bind(measures)
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .bind(to_micros(now))
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Records the publication (CS-5), once, and only with the measures decided.
pub async fn publish(
    db: &Db,
    property_id: &str,
    id: &str,
    publication: &Publication,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE survey_campaigns SET publish_at = $3, published_by_id = $4, published_by_name = $5, \
         published_by_role = $6, publication_note = $7, improvement_progress = $8 \
         WHERE property_id = $1 AND id = $2 AND publish_at IS NULL AND end_at <= $3 \
         AND improvement_measures <> ''",
    )
    .bind(property_id)
    .bind(id)
    .bind(to_micros(publication.at))
    .bind(&publication.by.user_id)
    .bind(&publication.by.name)
    .bind(&publication.by.role)
    .bind(&publication.note)
    .bind(&publication.improvement_progress)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(updated == 1)
}
