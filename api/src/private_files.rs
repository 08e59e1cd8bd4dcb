//! Files of the service's own (the SQLite database, the development token secret, messages
//! written as `.eml`): they hold personal data or secrets, so they are made readable by the
//! service's user only (files 0600, folders 0700), whatever the umask says.

use std::{io, path::Path};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

/// Creates a folder and its missing parents, each readable by its owner only. Folders that
/// exist already are left as they are.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(path)
}

fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    options.mode(0o600);
    options
}

/// Takes read and write away from group and others on a file or folder that exists already
/// (made before the service kept its files private, or by hand).
pub fn tighten(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path)?;
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// Creates an empty file readable by its owner only, unless it exists already.
pub fn create_file_if_missing(path: &Path) -> io::Result<()> {
    match private_options().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// Creates a new file readable by its owner only with these contents; fails if it exists.
pub fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = private_options().write(true).create_new(true).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Creates a file to write, readable by its owner only (an export of personal data); an
/// existing file is replaced and tightened.
pub fn create(path: &Path) -> io::Result<std::fs::File> {
    let file = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    tighten(path)?;
    Ok(file)
}

/// Writes `name` in `dir` so that a reader never sees half of it: first beside it, then renamed.
pub async fn write_atomically(dir: &Path, name: &str, contents: Vec<u8>) -> io::Result<()> {
    let dir = dir.to_owned();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        create_dir_all(&dir)?;
        let partial = dir.join(format!(".{name}.partial"));
        let _ = std::fs::remove_file(&partial);
        write_new(&partial, &contents)?;
        std::fs::rename(&partial, dir.join(&name))
    })
    .await
    .map_err(io::Error::other)?
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn files_and_folders_are_the_owners_alone() {
        let base = std::env::temp_dir().join(format!("private-{}", uuid::Uuid::new_v4().simple()));
        let folder = base.join("a/b");
        assert!(create_dir_all(&folder).is_ok());
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&base.join("a")), 0o700);
        let file = folder.join("db");
        assert!(create_file_if_missing(&file).is_ok());
        assert!(create_file_if_missing(&file).is_ok(), "twice is fine");
        assert_eq!(mode(&file), 0o600);
        assert!(
            write_atomically(&folder, "m.eml", b"x".to_vec())
                .await
                .is_ok()
        );
        assert_eq!(mode(&folder.join("m.eml")), 0o600);
        let _ = std::fs::remove_dir_all(&base);
    }
}
