//! Mesh files: binary STL, ASCII PLY and Wavefront OBJ, chosen by extension; all written
//! atomically. Coordinates are (x, y, z) as in [`Mesh`], in voxels or, for a mesh
//! scaled by [`Mesh::scaled`], in µm; the file's header or comment says which.

use std::io::Write;
use std::path::Path;

use super::{Mesh, cross, norm, sub};
use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use crate::scale::Units;

/// The mesh formats dispr writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshFormat {
    /// Binary STL (per-face normals, no shared vertices).
    Stl,
    /// ASCII PLY (shared vertices).
    Ply,
    /// Wavefront OBJ (shared vertices).
    Obj,
}

impl MeshFormat {
    /// The format named by a file's extension (`.stl`, `.ply`, `.obj`, any case).
    pub fn from_path(path: &Path) -> Result<MeshFormat> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        match ext.as_str() {
            "stl" => Ok(MeshFormat::Stl),
            "ply" => Ok(MeshFormat::Ply),
            "obj" => Ok(MeshFormat::Obj),
            _ => Err(Error::new(
                path,
                "unknown mesh format (use .stl, .ply or .obj)",
            )),
        }
    }
}

/// Writes `mesh`, whose coordinates are in `units`, to `path` in the format its
/// extension names.
pub fn write_mesh(path: &Path, mesh: &Mesh, units: Units) -> Result<()> {
    let format = MeshFormat::from_path(path)?;
    let units = match units {
        Units::Voxels => "voxels",
        Units::Micrometres => "micrometres",
    };
    write_atomic(path, |w| match format {
        MeshFormat::Stl => write_stl(w, mesh, units),
        MeshFormat::Ply => write_ply(w, mesh, units),
        MeshFormat::Obj => write_obj(w, mesh, units),
    })
}

fn write_stl(w: &mut impl Write, mesh: &Mesh, units: &str) -> std::io::Result<()> {
    let mut header = [0u8; 80];
    let text = format!("dispr binary STL, units: {units}");
    let text = text.as_bytes();
    header[..text.len()].copy_from_slice(text);
    w.write_all(&header)?;
    w.write_all(&(mesh.faces.len() as u32).to_le_bytes())?;
    for f in 0..mesh.faces.len() {
        let [a, b, c] = mesh.triangle(f);
        let n = cross(sub(b, a), sub(c, a));
        let len = norm(n);
        let n = if len > 0.0 {
            n.map(|x| x / len)
        } else {
            [0.0; 3]
        };
        for v in [n, a, b, c] {
            for x in v {
                w.write_all(&(x as f32).to_le_bytes())?;
            }
        }
        w.write_all(&[0, 0])?;
    }
    Ok(())
}

fn write_ply(w: &mut impl Write, mesh: &Mesh, units: &str) -> std::io::Result<()> {
    writeln!(
        w,
        "ply\nformat ascii 1.0\ncomment dispr mesh, units: {units}"
    )?;
    writeln!(w, "element vertex {}", mesh.vertices.len())?;
    writeln!(w, "property float x\nproperty float y\nproperty float z")?;
    writeln!(w, "element face {}", mesh.faces.len())?;
    writeln!(w, "property list uchar int vertex_indices\nend_header")?;
    for [x, y, z] in &mesh.vertices {
        writeln!(w, "{x} {y} {z}")?;
    }
    for [a, b, c] in &mesh.faces {
        writeln!(w, "3 {a} {b} {c}")?;
    }
    Ok(())
}

fn write_obj(w: &mut impl Write, mesh: &Mesh, units: &str) -> std::io::Result<()> {
    writeln!(w, "# dispr mesh, units: {units}")?;
    for [x, y, z] in &mesh.vertices {
        writeln!(w, "v {x} {y} {z}")?;
    }
    for [a, b, c] in &mesh.faces {
        writeln!(w, "f {} {} {}", a + 1, b + 1, c + 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::mesh::tests::unit_cube;

    #[test]
    fn writes_each_format() {
        let dir = tempfile::tempdir().unwrap();
        let cube = unit_cube();
        let stl = dir.path().join("c.stl");
        write_mesh(&stl, &cube, Units::Voxels).unwrap();
        let bytes = std::fs::read(&stl).unwrap();
        assert_eq!(bytes.len(), 84 + 50 * 12);
        assert_eq!(u32::from_le_bytes(bytes[80..84].try_into().unwrap()), 12);
        let ply = std::fs::read_to_string({
            let p = dir.path().join("c.ply");
            write_mesh(&p, &cube, Units::Voxels).unwrap();
            p
        })
        .unwrap();
        assert!(ply.contains("element vertex 8\n") && ply.contains("element face 12\n"));
        assert_eq!(ply.lines().count(), 10 + 8 + 12);
        let obj = std::fs::read_to_string({
            let p = dir.path().join("c.OBJ");
            write_mesh(&p, &cube, Units::Voxels).unwrap();
            p
        })
        .unwrap();
        assert_eq!(obj.lines().filter(|l| l.starts_with("f ")).count(), 12);
        let err = write_mesh(&dir.path().join("c.vtk"), &cube, Units::Voxels)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("c.vtk: unknown mesh format (use .stl, .ply or .obj)"),
            "{err}"
        );
    }
}
