//! The directory's SQL. One query text serves SQLite and PostgreSQL. Reads take a connection
//! (`&mut Tx` inside a transaction, or one of the pool), since a person is read with their
//! posts in two queries.

use sqlx::{AnyConnection, Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros, to_micros},
    sealed::SealedDb,
};

use crate::domain::{Person, Post, Status};

/// The database, with the keyring phones are sealed with.
pub type Store = SealedDb;

const PEOPLE: &str = "people";
const COLUMNS: &str =
    "person_id, staff_number, name, phone_sealed, status, sign_in, create_at, leave_at";

/// Writes a new person (without their posts).
pub async fn insert_person(db: &Store, tx: &mut Tx, p: &Person) -> Result<()> {
    sqlx::query(
        "INSERT INTO people (person_id, staff_number, name, phone_sealed, status, sign_in, \
         create_at, update_at, leave_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL)",
    )
    .bind(&p.id)
    .bind(&p.staff_number)
    .bind(&p.name)
    .bind(db.seal(PEOPLE, &p.id, "phone", &p.phone)?)
    .bind(p.status.code())
    .bind(sign_in_column(&p.sign_in))
    .bind(to_micros(p.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the name, phone, sign-in and status of a person.
pub async fn update_person(
    db: &Store,
    tx: &mut Tx,
    p: &Person,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE people SET name = $2, phone_sealed = $3, sign_in = $4, status = $5, \
         leave_at = $6, update_at = $7 WHERE person_id = $1",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(db.seal(PEOPLE, &p.id, "phone", &p.phone)?)
    .bind(sign_in_column(&p.sign_in))
    .bind(p.status.code())
    .bind(p.left_at.map(to_micros))
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An empty sign-in is stored as NULL: only people who sign in need to differ.
fn sign_in_column(sign_in: &str) -> Option<&str> {
    (!sign_in.is_empty()).then_some(sign_in)
}

/// Writes a post of `person_id`; false when the person holds this role at this place already
/// (a concurrent call gave it first: the index holds a post once).
pub async fn insert_post(tx: &mut Tx, person_id: &str, post: &Post) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO posts (post_id, person_id, role, property_id, start_at, end_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(&post.id)
    .bind(person_id)
    .bind(&post.role)
    .bind(&post.property_id)
    .bind(to_micros(post.started_at))
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Ends the current post `post_id`; whether it was current.
pub async fn end_post(
    tx: &mut Tx,
    post_id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let ended = sqlx::query("UPDATE posts SET end_at = $2 WHERE post_id = $1 AND end_at IS NULL")
        .bind(post_id)
        .bind(to_micros(at))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(ended == 1)
}

/// Whether the staff number belongs to anyone.
pub async fn staff_number_taken(conn: &mut AnyConnection, staff_number: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM people WHERE staff_number = $1")
        .bind(staff_number)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Whether the sign-in belongs to someone other than `person_id`.
pub async fn sign_in_taken(
    conn: &mut AnyConnection,
    sign_in: &str,
    person_id: &str,
) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM people WHERE sign_in = $1 AND person_id <> $2")
        .bind(sign_in)
        .bind(person_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// How a person is found.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Id(&'a str),
    StaffNumber(&'a str),
    SignIn(&'a str),
}

/// The person found by `key`, with every post they hold or held.
pub async fn get(db: &Store, conn: &mut AnyConnection, key: Key<'_>) -> Result<Option<Person>> {
    let (column, value) = match key {
        Key::Id(id) => ("person_id", id),
        Key::StaffNumber(n) => ("staff_number", n),
        Key::SignIn(s) => ("sign_in", s),
    };
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM people WHERE {column} = $1"));
    let row = sqlx::query(sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut person = from_row(db, &row)?;
    person.posts = posts_of(conn, &[person.id.as_str()]).await?;
    person.order_posts();
    Ok(Some(person))
}

/// The people with a current post at `property_id` (of `role` when given), by staff number
/// after `after`, each with all their posts.
pub async fn list_at(
    db: &Store,
    conn: &mut AnyConnection,
    property_id: &str,
    role: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Person>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM people WHERE staff_number > $1 AND person_id IN \
         (SELECT person_id FROM posts WHERE property_id = $2 AND end_at IS NULL \
          AND ($3 = '' OR role = $3)) \
         ORDER BY staff_number LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(after.unwrap_or(""))
        .bind(property_id)
        .bind(role.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    with_posts(db, conn, &rows).await
}

/// The people who work for the company and sign in, by staff number after `after`, each with
/// all their posts.
pub async fn list_signing_in(
    db: &Store,
    conn: &mut AnyConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Person>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM people WHERE staff_number > $1 AND sign_in IS NOT NULL \
         AND status = $2 ORDER BY staff_number LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(after.unwrap_or(""))
        .bind(Status::Active.code())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    with_posts(db, conn, &rows).await
}

/// The people of `rows`, in their order, each with all their posts.
async fn with_posts(db: &Store, conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<Vec<Person>> {
    let mut people = rows
        .iter()
        .map(|r| from_row(db, r))
        .collect::<Result<Vec<_>>>()?;
    let ids: Vec<&str> = people.iter().map(|p| p.id.as_str()).collect();
    let mut posts: Vec<(Post, String)> = posts_of(conn, &ids).await?;
    for person in &mut people {
        let (theirs, rest): (Vec<_>, Vec<_>) = posts.into_iter().partition(|p| p.1 == person.id);
        posts = rest;
        person.posts = theirs.into_iter().map(|(post, _)| post).collect();
        person.order_posts();
    }
    Ok(people)
}

/// The posts of the people `ids`, each with whose it is (in the order of `ids`'s people).
async fn posts_of<T: FromPosts>(conn: &mut AnyConnection, ids: &[&str]) -> Result<Vec<T>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT post_id, person_id, role, property_id, start_at, end_at FROM posts \
         WHERE person_id IN ({})",
        placeholders.join(", ")
    ));
    let mut query = sqlx::query(sql);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(T::from_post_row).collect()
}

/// A post read back: alone, or with whose it is.
trait FromPosts: Sized {
    fn from_post_row(row: &AnyRow) -> Result<Self>;
}

impl FromPosts for Post {
    fn from_post_row(r: &AnyRow) -> Result<Self> {
        Ok(Post {
            id: r.try_get("post_id")?,
            role: r.try_get("role")?,
            property_id: r.try_get("property_id")?,
            started_at: from_micros(r.try_get("start_at")?),
            ended_at: r.try_get::<Option<i64>, _>("end_at")?.map(from_micros),
        })
    }
}

impl FromPosts for (Post, String) {
    fn from_post_row(r: &AnyRow) -> Result<Self> {
        Ok((Post::from_post_row(r)?, r.try_get("person_id")?))
    }
}

fn from_row(db: &Store, r: &AnyRow) -> Result<Person> {
    let id: String = r.try_get("person_id")?;
    let status: String = r.try_get("status")?;
    Ok(Person {
        phone: db.open(PEOPLE, &id, "phone", r)?,
        id,
        staff_number: r.try_get("staff_number")?,
        name: r.try_get("name")?,
        status: Status::from_code(&status).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("unknown status {status:?} in the database"))
        })?,
        sign_in: r
            .try_get::<Option<String>, _>("sign_in")?
            .unwrap_or_default(),
        posts: Vec::new(),
        created_at: from_micros(r.try_get("create_at")?),
        left_at: r.try_get::<Option<i64>, _>("leave_at")?.map(from_micros),
    })
}
